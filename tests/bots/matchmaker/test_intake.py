"""Stories of people telling the matchmaker about themselves, against a real Synapse."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable

import nio
import pytest
from sqlalchemy import select

from bots.common.commands import Where
from bots.common.runtime import MessageContext
from bots.matchmaker import intake
from bots.matchmaker.bot import Matchmaker
from connec.db import Database
from connec.models import AuditEntry, Dialogue, Person
from tests.bots.conftest import RunningBot
from tests.bots.matchmaker.conftest import Inbox, add_person, open_direct_room
from tests.harness import SynapseHarness, eventually

pytestmark = pytest.mark.synapse


@pytest.fixture
async def leaving(db: Database) -> AsyncIterator[list[str]]:
    """People a story makes by chat leave connec when it ends, as ``enrol``'s do, so
    later stories' matching rounds never meet them."""
    made: list[str] = []
    yield made
    async with db.session() as session:
        for person in await session.scalars(select(Person).where(Person.matrix_id.in_(made))):
            person.state = "ended"


class Chat:
    """A person's direct room with the matchmaker, as a story writes and reads it."""

    def __init__(self, inbox: Inbox, bot_id: str) -> None:
        self.inbox = inbox
        self.bot_id = bot_id

    @classmethod
    async def open(cls, client: nio.AsyncClient, bot_id: str) -> Chat:
        return cls(await open_direct_room(client, bot_id), bot_id)

    @property
    def room_id(self) -> str:
        return self.inbox.room_id

    @property
    def user_id(self) -> str:
        return self.inbox.client.user_id

    async def say(self, text: str, *words: str) -> str:
        """Write ``text``; the bot's next message holding all of ``words``."""
        await self.inbox.say(text)
        return await self.expect(*words)

    async def expect(self, *words: str) -> str:
        return (await self.inbox.message(self.bot_id, *words)).body

    async def said(self, *words: str) -> list[str]:
        """Everything the bot has said here with these words, taken by the story or
        not, counted once all it sent so far has come (a question asked twice shows)."""
        await self.inbox.reader.barrier(self.room_id)
        return [event.body for event in self.inbox.received(self.bot_id, *words)]


async def crash(bot: RunningBot) -> None:
    """Kill the bot as a crash would, and make sure nothing of it lives on.

    ``RunningBot.kill`` cancels the bot's task, but the long-poll sync it was
    waiting on runs on as an orphan task (``BotRuntime._sync_forever`` does not
    cancel it) and would handle the next message alongside the restarted bot. A
    real crash ends the process, and that with it.
    """
    await bot.kill()
    orphans = [
        task
        for task in asyncio.all_tasks()
        if not task.done()
        and (frame := getattr(task.get_coro(), "cr_frame", None)) is not None
        and frame.f_locals.get("self") is bot.runtime
    ]
    for task in orphans:
        task.cancel()
    await asyncio.gather(*orphans, return_exceptions=True)


async def bot_events(synapse: SynapseHarness, room_id: str, sender: str) -> int:
    """How many messages ``sender`` has sent in a room (read with the admin API)."""
    found = await synapse.admin.admin(
        "GET", f"/v1/rooms/{room_id}/messages", params={"dir": "b", "limit": "1000"}
    )
    return sum(
        1
        for event in found["chunk"]
        if event["sender"] == sender and event["type"] in ("m.room.message", "m.room.encrypted")
    )


async def _more(count: Awaitable[int], than: int) -> bool:
    return await count > than


async def stored(db: Database, matrix_id: str) -> Person | None:
    async with db.session() as session:
        return await session.scalar(select(Person).where(Person.matrix_id == matrix_id))


async def audits(db: Database, matrix_id: str) -> list[str]:
    """The audited actions about one person, oldest first."""
    async with db.session() as session:
        rows = await session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject == matrix_id).order_by(AuditEntry.id)
        )
        return list(rows.all())


async def test_a_citizen_tells_about_herself_by_chat_and_is_saved(
    synapse: SynapseHarness, db: Database, person, start_bot, leaving: list[str]
) -> None:
    bot = await start_bot(Matchmaker())
    karen = await person("karen")
    leaving.append(karen.user_id)
    chat = await Chat.open(karen, bot.user_id)

    await chat.say("hej", "Skriv start for at begynde")
    await chat.say("start", "Hvad passer bedst på dig?")
    assert await stored(db, karen.user_id) is None  # not before she says who she is
    await chat.say("1", "Hvad vil du gerne kaldes?")
    joined = await stored(db, karen.user_id)
    assert joined is not None and joined.role == "citizen" and not joined.profile_complete
    await chat.say("Karen Hansen", "Hvilket år er du født?")
    await chat.say("i fyrrerne", "Skriv gerne det år, du er født, med fire cifre")
    await chat.say("1948", "Er du kvinde eller mand?")
    await chat.say("kvinde", "Hvor bor du?")
    await chat.say("8000 Aarhus", "Hvilke sprog taler du?")
    await chat.say("dansk", "Hvad kan du lide at lave")
    noted = await chat.say("have, jazz, Kim Larsen", "Fortæl lidt om dig selv")
    assert "Jeg har skrevet: jazz, havearbejde og “Kim Larsen”" in noted
    await chat.say("Jeg var lærer i fyrre år.", "Hvordan vil du helst holde kontakten?")
    await chat.say("1, 2", "Hvornår har du som regel tid")
    await chat.say("tirsdag formiddag, torsdag eftermiddag", "tale med en kvinde eller en mand")
    await chat.say("lige meget", "Hvor gammel")
    await chat.say("60-80", "bo i nærheden af dig")
    summary = await chat.say("2", "Passer det?")
    assert "Tid til en snak: tirsdag formiddag; torsdag eftermiddag" in summary
    await chat.say("ja", "Tak, Karen! Jeg har gemt det")

    karen_now = await stored(db, karen.user_id)
    assert karen_now is not None and karen_now.profile_complete
    assert karen_now.display_name == "Karen Hansen" and karen_now.birth_year == 1948
    assert (karen_now.postcode, karen_now.municipality) == ("8000", "Aarhus")
    assert karen_now.interest_words == ["have", "jazz", "Kim Larsen"]
    assert karen_now.contact_modes == ["chat", "voice"]
    assert karen_now.availability == ["tue-am", "thu-pm"]
    assert (karen_now.age_min, karen_now.age_max, karen_now.near_me) == (60, 80, False)
    assert karen_now.approval == "approved" and karen_now.state == "active"
    assert await audits(db, karen.user_id) == ["person_joined", "profile_completed"]

    # Plain words now get the usual pointer to help, not another invitation.
    await chat.say("tak", "Skriv hjælp")


async def test_back_and_stop_always_work_and_start_carries_on(
    synapse: SynapseHarness, db: Database, person, start_bot, leaving: list[str]
) -> None:
    bot = await start_bot(Matchmaker())
    ole = await person("ole")
    leaving.append(ole.user_id)
    chat = await Chat.open(ole, bot.user_id)
    await chat.say("start", "Hvad passer bedst på dig?")
    await chat.say("1", "Hvad vil du gerne kaldes?")
    await chat.say("ok", "Hvilket år er du født?")
    again = await chat.say("tilbage", "Hvad vil du gerne kaldes?")
    assert "Det har jeg nu: Ole" in again
    await chat.say("!tilbage", "Hvad passer bedst på dig?")
    await chat.say("back", "Det er det første spørgsmål")
    await chat.say("1", "Hvad vil du gerne kaldes?")
    await chat.say("Ole", "Hvilket år er du født?")
    await chat.say("stop", "Jeg husker dine svar indtil nu")

    # Put aside: plain words invite him back, and start carries on where he was.
    await chat.say("hej igen", "Skriv start for at fortsætte, hvor vi slap")
    resumed = await chat.say("!start", "Velkommen tilbage")
    assert "Hvilket år er du født?" in resumed
    await chat.say("1944", "Er du kvinde eller mand?")
    # "stop" with the "!" works too.
    await chat.say("!stop", "vi stopper her")
    ole_now = await stored(db, ole.user_id)
    assert ole_now is not None and not ole_now.profile_complete


async def test_a_restart_in_the_middle_of_the_intake_continues_where_the_person_was(
    synapse: SynapseHarness, db: Database, person, start_bot, leaving: list[str]
) -> None:
    bot = await start_bot(Matchmaker())
    per = await person("per")
    leaving.append(per.user_id)
    chat = await Chat.open(per, bot.user_id)
    await chat.say("start", "Hvad passer bedst på dig?")
    await chat.say("1", "Hvad vil du gerne kaldes?")
    await chat.say("Per", "Spørgsmål 3 af 13")
    await crash(bot)

    again = await start_bot(Matchmaker())
    await chat.say("1950", "Spørgsmål 4 af 13")
    await chat.say("mand", "Spørgsmål 5 af 13")
    # Each question came once: nothing was answered twice across the restart.
    for number in range(1, 6):
        assert len(await chat.said(f"Spørgsmål {number} af 13")) == 1, number
    async with db.session() as session:
        row = await session.scalar(select(Dialogue).where(Dialogue.matrix_id == per.user_id))
        assert row is not None and row.step == "place" and row.data["answers"]["birth_year"] == 1950
    await again.stop()


async def test_an_answer_handled_again_after_a_crash_is_neither_applied_nor_answered_twice(
    synapse: SynapseHarness, db: Database, person, start_bot, leaving: list[str]
) -> None:
    bot = await start_bot(Matchmaker())
    bo = await person("bo")
    leaving.append(bo.user_id)
    chat = await Chat.open(bo, bot.user_id)
    await chat.say("start", "Hvad passer bedst på dig?")
    await chat.say("1", "Hvad vil du gerne kaldes?")
    answer = await chat.inbox.say("Bo")
    await chat.expect("Hvilket år er du født?")

    # The runtime marks an event handled only after the handler returns; a crash
    # in between hands the same event to the handler again.
    await chat.inbox.sync(0)
    [event] = [e for e in chat.inbox.events if getattr(e, "event_id", None) == answer]
    room = bot.runtime.client.rooms[chat.room_id]
    again = MessageContext(bot.runtime, room, event, bo.user_id, "Bo", Where.DIRECT, "da")
    assert await intake.on_text(again)

    assert len(await chat.said("Hvilket år er du født?")) == 1
    async with db.session() as session:
        row = await session.scalar(select(Dialogue).where(Dialogue.matrix_id == bo.user_id))
        assert row is not None and row.step == "birth_year"
        assert row.data["history"] == ["role", "name"]


async def test_a_new_volunteer_is_pending_until_a_coordinator_approves(
    synapse: SynapseHarness, db: Database, person, start_bot, leaving: list[str]
) -> None:
    bot = await start_bot(Matchmaker())
    mette = await person("mette")
    leaving.append(mette.user_id)
    chat = await Chat.open(mette, bot.user_id)
    await chat.say("om-mig", "Hvad passer bedst på dig?")
    await chat.say("jeg vil gerne være frivillig", "Hvad vil du gerne kaldes?")
    assert (await stored(db, mette.user_id)).approval == "pending"  # type: ignore[union-attr]
    for text, question in [
        ("ok", "Hvilket år er du født?"),
        ("1985", "Er du kvinde eller mand?"),
        ("4", "Hvor bor du?"),
        ("spring over", "Hvilke sprog taler du?"),
        ("1, 2", "Hvad kan du lide at lave"),
        ("6, 4", "Fortæl lidt om dig selv"),
        ("spring over", "Hvordan vil du helst holde kontakten?"),
        ("alle", "Hvornår har du som regel tid"),
        ("når som helst", "tale med en kvinde eller en mand"),
        ("3", "Hvor gammel"),
        ("over 60", "Hvor mange borgere vil du gerne være besøgsven for?"),
        ("7", "Skriv gerne et tal fra 1 til 3"),
    ]:
        await chat.say(text, question)
    summary = await chat.say("2", "Passer det?")
    assert "Antal borgere: 2 borgere" in summary and "Bopæl: ikke fortalt" in summary
    coordinators = synapse.facts["coordinators_room_id"]
    before = await bot_events(synapse, coordinators, bot.user_id)
    await chat.say("ja", "En koordinator kigger snart på din tilmelding")
    # The coordinators hear of her at once (the room is encrypted: counted, not read).
    await eventually(
        lambda: _more(bot_events(synapse, coordinators, bot.user_id), before),
        what="a message in the coordinators' room",
    )

    mette_now = await stored(db, mette.user_id)
    assert mette_now is not None and mette_now.role == "volunteer"
    assert mette_now.profile_complete and mette_now.approval == "pending"
    assert mette_now.capacity == 2 and mette_now.interest_keys == ["gardening", "jazz"]
    assert mette_now.gender is None and mette_now.age_min == 60


async def test_someone_new_can_choose_english_before_anything_else(
    synapse: SynapseHarness, db: Database, person, start_bot, leaving: list[str]
) -> None:
    bot = await start_bot(Matchmaker())
    anna = await person("anna")
    leaving.append(anna.user_id)
    chat = await Chat.open(anna, bot.user_id)
    await chat.say("hello", "Prefer English? Write language english")
    await chat.say("!language english", "From now on I will write to you in English")
    await chat.expect("Which of these fits you best?")
    await chat.say("3", "What would you like me to call you?")
    anna_now = await stored(db, anna.user_id)
    assert anna_now is not None and anna_now.role == "peer" and anna_now.language == "en"


async def test_someone_enrolled_on_the_portal_is_not_asked_again(
    synapse: SynapseHarness, db: Database, person, start_bot, leaving: list[str]
) -> None:
    bot = await start_bot(Matchmaker())
    lis = await person("lis")
    leaving.append(lis.user_id)
    chat = await Chat.open(lis, bot.user_id)
    await add_person(db, lis.user_id, "citizen", "Lis")
    await chat.say("hvad så", "Skriv hjælp")
    await chat.say("start", "Du har allerede fortalt mig om dig selv")


async def test_after_the_greeting_someone_new_is_invited_to_tell_about_themselves(
    synapse: SynapseHarness, db: Database, person, start_bot, leaving: list[str]
) -> None:
    bot = await start_bot(Matchmaker())
    nina = await person("nina")
    leaving.append(nina.user_id)
    chat = await Chat.open(nina, bot.user_id)
    await intake.after_greeting(bot.runtime, chat.room_id, nina.user_id, "da")
    invitation = await chat.expect("Vil du fortælle mig lidt om dig selv?")
    assert "Skriv start for at begynde" in invitation
    # Said once, however often the greeting is retried.
    await intake.after_greeting(bot.runtime, chat.room_id, nina.user_id, "da")
    assert len(await chat.said("Vil du fortælle")) == 1
