"""From a proposal to a private, encrypted visit room for two people who share something."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import nio
import pytest
from sqlalchemy import func, select

from bots.common.runtime import BotRuntime
from bots.matchmaker import rooms
from bots.matchmaker.bot import Matchmaker
from bots.matchmaker.matching import run_round
from connec.clock import FrozenClock
from connec.db import Database
from connec.models import Match, Person, Proposal
from tests.bots.conftest import RunningBot
from tests.harness import SynapseHarness, eventually, messages_from

pytestmark = pytest.mark.synapse


@pytest.fixture
def db(own_db: Database) -> Database:
    """A database of this test's own, so people from other tests are not matched."""
    return own_db


@pytest.fixture
def matchmaker(own_matchmaker: Callable[..., Awaitable[RunningBot]]) -> Any:
    return own_matchmaker


async def enrol(
    db: Database, client: nio.AsyncClient, role: str, name: str, **profile: Any
) -> Person:
    values: dict[str, Any] = {
        "languages": ["da"],
        "interest_keys": ["jazz", "gardening"],
        "interest_words": ["Kim Larsen"],
        "contact_modes": ["chat", "video"],
        "availability": ["tue-am", "thu-pm"],
        "birth_year": 1950 if role == "citizen" else 1990,
        "profile_complete": True,
        "approval": "approved",
        **profile,
    }
    async with db.session() as session:
        person = Person(matrix_id=client.user_id, role=role, display_name=name, **values)
        session.add(person)
    return person


async def accept_invites(client: nio.AsyncClient) -> list[str]:
    response = await client.sync(timeout=500)
    joined = []
    if isinstance(response, nio.SyncResponse):
        for room_id in response.rooms.invite:
            await client.join(room_id)
            joined.append(room_id)
    return joined


async def direct_message(client: nio.AsyncClient, bot_id: str, text: str) -> tuple[str, Any]:
    """Join the bot's invitations and read its messages until one says ``text``."""
    seen: list[tuple[str, Any]] = []

    async def found() -> tuple[str, Any] | None:
        response = await client.sync(timeout=500)
        if isinstance(response, nio.SyncResponse):
            for room_id in response.rooms.invite:
                await client.join(room_id)
            for room_id, info in response.rooms.join.items():
                seen.extend(
                    (room_id, event)
                    for event in info.timeline.events
                    if isinstance(event, nio.RoomMessageText) and event.sender == bot_id
                )
        return next(((r, e) for r, e in seen if text in e.body), None)

    return await eventually(found, what=f"a message saying {text!r}")


async def proposal_message(client: nio.AsyncClient, bot_id: str) -> tuple[str, Any]:
    """The proposal in the bot's direct room (after its welcome)."""
    return await direct_message(client, bot_id, "Har du lyst til at mødes")


@contextlib.asynccontextmanager
async def logged_in(bot: RunningBot) -> AsyncIterator[BotRuntime]:
    """The matchmaker's login without its sync loop: steps run by hand, as before a crash."""
    runtime = BotRuntime(bot.runtime.settings, Matchmaker())
    runtime.client = await runtime._login()
    try:
        yield runtime
    finally:
        await runtime.client.close()
        await runtime.db.close()


async def introduced(db: Database, which: Any) -> Match:
    """Wait until the match ``which`` selects has its room and ice-breaker."""

    async def check() -> Match | None:
        async with db.session() as session:
            match = await session.scalar(select(Match).where(which))
        return match if match and match.state == "introduced" else None

    return await eventually(check, timeout=60, what="the visit room")


async def say(client: nio.AsyncClient, room_id: str, text: str) -> None:
    response = await client.room_send(
        room_id,
        "m.room.message",
        {"msgtype": "m.text", "body": text},
        ignore_unverified_devices=True,
    )
    assert isinstance(response, nio.RoomSendResponse), response


async def proposal_between(db: Database, a: Person, b: Person) -> Proposal | None:
    async with db.session() as session:
        return await session.scalar(
            select(Proposal).where(Proposal.a_id == a.id, Proposal.b_id == b.id)
        )


async def test_both_say_yes_and_exactly_one_private_encrypted_room_exists(
    synapse: SynapseHarness, person, matchmaker, db: Database
) -> None:
    karen_client = await person("karen", "Karen Jensen")
    anna_client = await person("anna", "Anna Holm")
    karen = await enrol(db, karen_client, "citizen", "Karen Jensen")
    anna = await enrol(db, anna_client, "volunteer", "Anna Holm")
    bot = await matchmaker()

    await run_round(db, bot.runtime.settings, bot.runtime.clock.now())
    bot.runtime.wake("proposal delivery")
    assert (await proposal_between(db, karen, anna)) is not None

    karen_dm, karen_question = await proposal_message(karen_client, bot.user_id)
    anna_dm, anna_question = await proposal_message(anna_client, bot.user_id)
    assert "Anna" in karen_question.body and "jazz" in karen_question.body
    assert "Karen" in anna_question.body and "70-79" in anna_question.body
    assert "Jensen" not in anna_question.body  # first names only

    await say(karen_client, karen_dm, "ja")
    [waiting] = await messages_from(karen_client, karen_dm, bot.user_id)
    assert "så snart den anden også har svaret" in waiting.body
    await say(anna_client, anna_dm, "1")
    await messages_from(anna_client, anna_dm, bot.user_id)

    match = await introduced(db, Match.a_id == karen.id)
    async with db.session() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Match)
            .where(Match.a_id == karen.id, Match.b_id == anna.id)
        )
    assert count == 1

    state = await synapse.admin.admin("GET", f"/v1/rooms/{match.room_id}/state")
    by_type = {(e["type"], e["state_key"]): e["content"] for e in state["state"]}
    assert by_type[("m.room.encryption", "")]["algorithm"] == "m.megolm.v1.aes-sha2"
    assert by_type[("m.room.join_rules", "")]["join_rule"] == "invite"
    assert by_type[("m.room.guest_access", "")]["guest_access"] == "forbidden"
    assert by_type[("m.room.history_visibility", "")]["history_visibility"] == "shared"
    assert by_type[("m.room.name", "")]["name"] == "Karen & Anna"
    assert "jazz" in by_type[("m.room.topic", "")]["topic"]
    scheduler = synapse.settings.user_id("scheduler")
    assert set(by_type[("io.element.functional_members", "")]["service_members"]) == {
        bot.user_id,
        scheduler,
    }
    levels = by_type[("m.room.power_levels", "")]
    assert levels["users_default"] == 0 and levels["events_default"] == 0
    assert levels["state_default"] == 100 and levels["invite"] == 100
    assert levels["events"]["m.room.name"] == 100
    members = {
        key: e["membership"] for (kind, key), e in by_type.items() if kind == "m.room.member"
    }
    assert members[karen.matrix_id] == "invite" and members[anna.matrix_id] == "invite"
    assert members[scheduler] in ("invite", "join")
    details = await synapse.admin.admin("GET", f"/v1/rooms/{match.room_id}")
    assert details["public"] is False

    # Karen joins and can read the ice-breaker, encrypted for her before she joined.
    await accept_invites(karen_client)
    [icebreaker] = await messages_from(karen_client, match.room_id, bot.user_id)
    assert "Velkommen, Karen og Anna" in icebreaker.body


async def test_one_says_no_and_no_room_appears(
    synapse: SynapseHarness, person, matchmaker, db: Database
) -> None:
    ole_client = await person("ole", "Ole")
    per_client = await person("per", "Per")
    ole = await enrol(db, ole_client, "citizen", "Ole", interest_keys=["chess"])
    per = await enrol(db, per_client, "volunteer", "Per", interest_keys=["chess"])
    bot = await matchmaker()
    await run_round(db, bot.runtime.settings, bot.runtime.clock.now())
    bot.runtime.wake("proposal delivery")
    ole_dm, _ = await proposal_message(ole_client, bot.user_id)
    per_dm, _ = await proposal_message(per_client, bot.user_id)
    await say(per_client, per_dm, "ja")
    await messages_from(per_client, per_dm, bot.user_id)
    await say(ole_client, ole_dm, "nej tak")
    [thanks] = await messages_from(ole_client, ole_dm, bot.user_id)
    assert "leder efter en anden" in thanks.body
    [off] = await messages_from(per_client, per_dm, bot.user_id)
    assert "bliver ikke til noget" in off.body and "Ole" not in off.body
    proposal = await proposal_between(db, ole, per)
    assert proposal is not None and proposal.state == "declined"
    async with db.session() as session:
        assert await session.scalar(select(Match).where(Match.a_id == ole.id)) is None
    # A declined pair is never proposed again.
    again = await run_round(db, bot.runtime.settings, bot.runtime.clock.now())
    assert all({p.a_id, p.b_id} != {ole.id, per.id} for p in again.proposals)


async def test_killed_right_after_the_room_was_made_the_same_room_is_introduced(
    synapse: SynapseHarness, person, matchmaker, db: Database
) -> None:
    lis_client = await person("lis", "Lis")
    bo_client = await person("bo", "Bo")
    lis = await enrol(db, lis_client, "citizen", "Lis", interest_keys=["knitting"])
    bo = await enrol(db, bo_client, "volunteer", "Bo", interest_keys=["knitting"])
    async with db.session() as session:
        proposal = Proposal(
            a_id=lis.id,
            b_id=bo.id,
            score=1.0,
            reasons=[],
            state="accepted",
            a_answer="yes",
            b_answer="yes",
        )
        session.add(proposal)
        await session.flush()
        match = Match(proposal_id=proposal.id, a_id=lis.id, b_id=bo.id, state="accepted")
        session.add(match)

    # The bot gets as far as creating the room (both invited with it), then dies.
    bot = await matchmaker()
    await bot.kill()
    async with logged_in(bot) as runtime:
        room_id = await rooms.create_room(runtime, match.id)
    async with db.session() as session:
        assert (await session.get(Match, match.id)).state == "invited"

    restarted = await matchmaker()

    done = await introduced(db, Match.id == match.id)
    assert done.room_id == room_id
    joined = await accept_invites(lis_client)
    assert room_id in joined
    assert restarted.task is not None and not restarted.task.done()


async def test_a_room_made_just_before_a_crash_is_found_again_not_made_twice(
    synapse: SynapseHarness, person, matchmaker, db: Database
) -> None:
    a_client = await person("gitte", "Gitte")
    b_client = await person("jens", "Jens")
    a = await enrol(db, a_client, "citizen", "Gitte")
    b = await enrol(db, b_client, "volunteer", "Jens")
    async with db.session() as session:
        match = Match(a_id=a.id, b_id=b.id, state="accepted")
        session.add(match)
    bot = await matchmaker()
    await bot.kill()
    async with logged_in(bot) as runtime:
        room_id = await rooms.create_room(runtime, match.id)
        # As if the crash came before the room's ID was stored.
        async with db.session() as session:
            row = await session.get(Match, match.id)
            row.room_id, row.state = None, "accepted"
        again = await rooms.create_room(runtime, match.id)
    assert again == room_id


async def test_an_unanswered_proposal_is_reminded_once_then_lapses_kindly(
    synapse: SynapseHarness, person, matchmaker, db: Database
) -> None:
    from datetime import UTC, datetime, timedelta

    clock = FrozenClock(datetime.now(UTC))
    hanne_client = await person("hanne", "Hanne")
    kurt_client = await person("kurt", "Kurt")
    hanne = await enrol(db, hanne_client, "citizen", "Hanne", interest_keys=["birdwatching"])
    kurt = await enrol(db, kurt_client, "volunteer", "Kurt", interest_keys=["birdwatching"])
    bot = await matchmaker(clock=clock)
    await run_round(db, bot.runtime.settings, clock.now())
    bot.runtime.wake("proposal delivery")
    hanne_dm, _ = await proposal_message(hanne_client, bot.user_id)
    kurt_dm, _ = await proposal_message(kurt_client, bot.user_id)
    await say(kurt_client, kurt_dm, "ja")
    await messages_from(kurt_client, kurt_dm, bot.user_id)

    clock.advance(timedelta(hours=49))
    bot.runtime.wake("proposal delivery")
    [reminder] = await messages_from(hanne_client, hanne_dm, bot.user_id)
    assert "venlig påmindelse" in reminder.body
    bot.runtime.wake("proposal delivery")
    with pytest.raises(AssertionError, match="timed out"):
        await messages_from(hanne_client, hanne_dm, bot.user_id, timeout=3)

    clock.advance(timedelta(hours=120))
    bot.runtime.wake("proposal delivery")
    [lapsed] = await messages_from(kurt_client, kurt_dm, bot.user_id)
    assert "bliver ikke til noget" in lapsed.body and "Hanne" not in lapsed.body
    proposal = await proposal_between(db, hanne, kurt)
    assert proposal is not None and proposal.state == "expired"


async def test_with_approval_a_suggestion_waits_for_a_coordinator(
    synapse: SynapseHarness, person, matchmaker, db: Database, coordinators_room
) -> None:
    from bots.matchmaker import proposals

    inge_client = await person("inge", "Inge")
    finn_client = await person("finn", "Finn")
    inge = await enrol(db, inge_client, "citizen", "Inge", interest_keys=["bridge"])
    finn = await enrol(db, finn_client, "volunteer", "Finn", interest_keys=["bridge"])
    bot = await matchmaker(approval=True)
    result = await run_round(db, bot.runtime.settings, bot.runtime.clock.now())
    [suggested] = [p for p in result.proposals if {p.a_id, p.b_id} == {inge.id, finn.id}]
    assert suggested.state == "suggested"
    bot.runtime.wake("proposal delivery")

    async def shown() -> Proposal | None:
        row = await proposal_between(db, inge, finn)
        return row if row and row.coordinator_event_id else None

    shown_row = await eventually(shown, what="the suggestion in the coordinators' room")
    # A coordinator reads it (a suggestion waits until some coordinator has a device).
    suggestion = await coordinators_room.message(bot.user_id, f"Forslag {suggested.id}")
    assert shown_row.coordinator_event_id == suggestion.event_id
    assert shown_row.a_event_id is None  # nobody is asked before approval

    await proposals.approve(bot.runtime, suggested.id, "@coordinator:connec.test")
    await proposal_message(inge_client, bot.user_id)
    approved = await proposal_between(db, inge, finn)
    assert approved is not None and approved.state == "asked"
    assert approved.approved_by == "@coordinator:connec.test"


async def test_either_person_can_end_the_friendship_kindly(
    synapse: SynapseHarness, person, matchmaker, db: Database
) -> None:
    eva_client = await person("eva", "Eva")
    carl_client = await person("carl", "Carl")
    eva = await enrol(db, eva_client, "citizen", "Eva", interest_keys=["baking"])
    carl = await enrol(db, carl_client, "volunteer", "Carl", interest_keys=["baking"])
    async with db.session() as session:
        match = Match(a_id=eva.id, b_id=carl.id, state="accepted")
        session.add(match)
    bot = await matchmaker()
    bot.runtime.wake("visit rooms")

    ready = await introduced(db, Match.id == match.id)
    await eventually(lambda: accept_invites(eva_client), what="Eva's invitation")
    await messages_from(eva_client, ready.room_id, bot.user_id)  # the ice-breaker
    await say(eva_client, ready.room_id, "!afslut vi har ikke tid længere")
    [question] = await messages_from(eva_client, ready.room_id, bot.user_id)
    assert "Vil du afslutte" in question.body
    await say(eva_client, ready.room_id, "ja")
    [thanks] = await messages_from(eva_client, ready.room_id, bot.user_id)
    assert "Tak til jer begge" in thanks.body

    async with db.session() as session:
        ended = await session.get(Match, match.id)
    assert ended.state == "ended" and ended.ended_by == eva.matrix_id
    assert ended.end_reason == "vi har ikke tid længere"
    # Each is offered a new match privately.
    _, offer = await direct_message(carl_client, bot.user_id, "leder efter en ny")
    assert "pause" in offer.body


async def test_the_whole_story_from_who_are_you_to_a_room_for_two(
    synapse: SynapseHarness, person, matchmaker, db: Database
) -> None:
    """A citizen and a volunteer tell about themselves by chat, a coordinator approves
    the volunteer, both get the proposal, both say yes, and exactly one room exists."""
    from tests.bots.matchmaker.test_intake import Chat

    bot = await matchmaker()
    karen_client = await person("karen", "Karen")
    mette_client = await person("mette", "Mette")
    karen, mette = (
        await Chat.open(karen_client, bot.user_id),
        await Chat.open(mette_client, bot.user_id),
    )
    await karen.say("start", "Hvad passer bedst på dig?")
    for text, question in [
        ("1", "Hvad vil du gerne kaldes?"),
        ("Karen Hansen", "Hvilket år er du født?"),
        ("1948", "Er du kvinde eller mand?"),
        ("kvinde", "Hvor bor du?"),
        ("8000 Aarhus", "Hvilke sprog taler du?"),
        ("dansk", "Hvad kan du lide at lave"),
        ("have, jazz, Kim Larsen", "Fortæl lidt om dig selv"),
        ("Jeg var lærer i fyrre år.", "Hvordan vil du helst holde kontakten?"),
        ("1, 2", "Hvornår har du som regel tid"),
        ("tirsdag formiddag, torsdag eftermiddag", "tale med en kvinde eller en mand"),
        ("lige meget", "Hvor gammel"),
        ("lige meget", "bo i nærheden af dig"),
        ("2", "Passer det?"),
        ("ja", "Jeg har gemt det"),
    ]:
        await karen.say(text, question)
    await mette.say("start", "Hvad passer bedst på dig?")
    for text, question in [
        ("jeg vil gerne være frivillig", "Hvad vil du gerne kaldes?"),
        ("Mette Berg", "Hvilket år er du født?"),
        ("1985", "Er du kvinde eller mand?"),
        ("kvinde", "Hvor bor du?"),
        ("spring over", "Hvilke sprog taler du?"),
        ("dansk", "Hvad kan du lide at lave"),
        ("jazz, Kim Larsen", "Fortæl lidt om dig selv"),
        ("spring over", "Hvordan vil du helst holde kontakten?"),
        ("alle", "Hvornår har du som regel tid"),
        ("tirsdag formiddag", "tale med en kvinde eller en mand"),
        ("lige meget", "Hvor gammel"),
        ("lige meget", "Hvor mange borgere vil du gerne være besøgsven for?"),
        ("1", "Passer det?"),
        ("ja", "En koordinator kigger snart på din tilmelding"),
    ]:
        await mette.say(text, question)

    # Before a coordinator approves the volunteer, nobody is proposed to her.
    assert not (await run_round(db, bot.runtime.settings, bot.runtime.clock.now())).proposals
    async with db.session() as session:
        volunteer = await session.scalar(
            select(Person).where(Person.matrix_id == mette_client.user_id)
        )
        volunteer.approval = "approved"

    result = await run_round(db, bot.runtime.settings, bot.runtime.clock.now())
    [proposal] = result.proposals
    bot.runtime.wake("proposal delivery")
    question = await karen.expect("Har du lyst til at mødes", "Mette")
    assert "jazz" in question and "Kim Larsen" in question
    await mette.expect("Har du lyst til at mødes", "Karen")
    await karen.say("ja", "så snart den anden også har svaret")
    await mette.say("ja", "I sagde begge ja")

    match = await introduced(db, Match.proposal_id == proposal.id)
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Match)) == 1
    state = await synapse.admin.admin("GET", f"/v1/rooms/{match.room_id}/state")
    names = [e["content"]["name"] for e in state["state"] if e["type"] == "m.room.name"]
    assert names == ["Karen & Mette"]
