"""People sign in days after the matchmaker first wrote to them, and on new devices.

In real life a frontline worker enrols a citizen, an organisation's list is imported
or a coordinator approves a volunteer, and the matchmaker writes at once; the person
signs in later, with the welcome letter. Every message the bot meant for them must
be readable then: none may have been encrypted for a device that did not exist yet.
Some of these stories are told with Element's own crypto (matrix-js-sdk with its
Rust crypto, ``tests.element``), so they do not rest on nio agreeing with itself.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import nio
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bots.matchmaker.bot import Matchmaker
from bots.matchmaker.matching import run_round
from connec.db import Database
from connec.first_passwords import FirstPasswords
from connec.models import DirectRoom, Match, OutboxMessage, Person, Proposal
from portal.app import make_app
from tests.bots.conftest import RunningBot
from tests.bots.matchmaker.conftest import Inbox, join_invited_room
from tests.element import ElementPerson, require_element_client
from tests.harness import SynapseHarness, eventually, reader_of, sign_in
from tests.portal.helpers import add_member, citizen_form, signed_in, token_for
from tests.portal.helpers import form as form_pairs

pytestmark = pytest.mark.synapse

COLUMNS = (
    "role,matrix_id,display_name,birth_year,gender,municipality,postcode,languages,"
    "interests,contact_modes,availability,capacity"
)


def unique(name: str, synapse: SynapseHarness) -> str:
    return f"@{name}.{os.urandom(3).hex()}:{synapse.server_name}"


async def import_people(
    synapse: SynapseHarness, db: Database, tmp_path: Path, rows: list[str]
) -> dict[str, str]:
    """`connec people import FILE --create-accounts`, as an operator runs it; answers
    the first passwords it wrote, by Matrix ID."""
    path = tmp_path / "people.csv"
    path.write_text("\n".join([COLUMNS, *rows]) + "\n", encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "connec"),
        "people",
        "import",
        str(path),
        "--create-accounts",
        "--data-dir",
        str(synapse.settings.paths.root),
        env={**os.environ, "CONNEC_DATABASE_URL": db.url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()
    return FirstPasswords(synapse.settings.paths.first_passwords).read()


async def first_sign_in(
    synapse: SynapseHarness, user_id: str, password: str, store: Path
) -> nio.AsyncClient:
    """A person signs in for the first time with the password in their letter."""
    return await sign_in(synapse.url, user_id, password, store)


@pytest.fixture
async def clients() -> AsyncIterator[list[nio.AsyncClient | ElementPerson]]:
    made: list[nio.AsyncClient | ElementPerson] = []
    yield made
    for client in made:
        await client.close()


async def waiting(db: Database, room_id: str) -> list[OutboxMessage]:
    """What the matchmaker has written for a room and keeps until it can be read."""
    async with db.session() as session:
        return list(
            (
                await session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.room_id == room_id, OutboxMessage.state == "waiting")
                    .order_by(OutboxMessage.id)
                )
            ).all()
        )


async def direct_room_of(db: Database, matrix_id: str) -> str | None:
    async with db.session() as session:
        return await session.scalar(
            select(DirectRoom.room_id).where(
                DirectRoom.bot == "matchmaker", DirectRoom.matrix_id == matrix_id
            )
        )


async def written_but_unread(db: Database, matrix_id: str, count: int) -> str:
    """The person's direct room, once the bot has written ``count`` messages there that
    wait for the person's first device."""

    async def check() -> str | None:
        room_id = await direct_room_of(db, matrix_id)
        if room_id is None:
            return None
        return room_id if len(await waiting(db, room_id)) >= count else None

    return await eventually(check, what=f"{count} message(s) waiting for {matrix_id}")


async def test_imported_people_read_their_welcome_and_proposal_when_they_first_sign_in(
    synapse: SynapseHarness,
    own_db: Database,
    own_matchmaker: Callable[..., Awaitable[RunningBot]],
    tmp_path: Path,
    clients: list[Any],
) -> None:
    """The README's path: import with accounts, a matching round, and only then do
    the two sign in, one on nio, one on Element's own crypto."""
    require_element_client()
    karen_id, ole_id = unique("karen", synapse), unique("ole", synapse)
    passwords = await import_people(
        synapse,
        own_db,
        tmp_path,
        [
            f"citizen,{karen_id},Karen Hansen,1946,female,Aarhus,8000,da,"
            "havearbejde;jazz;bagning,chat;video,tue-am;thu-pm,",
            f"volunteer,{ole_id},Ole Berg,1985,male,Aarhus,8000,da,"
            "havearbejde;jazz,chat;video,tue-am;thu-pm,1",
        ],
    )
    bot = await own_matchmaker()
    # The bot greets both at once; nobody has a device, so the welcomes wait.
    karen_room = await written_but_unread(own_db, karen_id, 1)
    ole_room = await written_but_unread(own_db, ole_id, 1)

    result = await run_round(own_db, bot.runtime.settings, bot.runtime.clock.now())
    [proposal] = result.proposals
    bot.runtime.wake("proposal delivery")
    await written_but_unread(own_db, karen_id, 2)
    await written_but_unread(own_db, ole_id, 2)

    # Days later, Karen signs in for the first time, accepts the invitation and reads.
    karen = await first_sign_in(synapse, karen_id, passwords[karen_id], tmp_path / "karen")
    clients.append(karen)
    inbox = await join_invited_room(karen)
    assert inbox.room_id == karen_room
    await inbox.message(bot.user_id, "Ole")
    said = [e.body for e in reader_of(karen).texts(karen_room, bot.user_id)]
    assert "velkommen til connec" in said[0] and "Har du lyst til at mødes" in said[1]

    # Ole signs in on Element, which trusts only devices their owners cross-signed.
    ole = await ElementPerson.sign_in(synapse.url, ole_id, passwords[ole_id])
    clients.append(ole)
    room = await ole.invitation(sender=bot.user_id)
    assert room == ole_room
    await ole.command("join", room=room)
    try:
        await ole.message(room, bot.user_id, "velkommen til connec")
    except AssertionError:
        print("REPORTS", ole.reports)
        print("OUTBOX", [(r.txn, r.state, r.readers) for r in await waiting(own_db, room)])
        raise
    question = await ole.message(room, bot.user_id, "Har du lyst til at mødes", "Karen")
    first, second = (m["body"] for m in ole.messages(room, bot.user_id)[:2])
    assert "velkommen til connec" in first and "Har du lyst til at mødes" in second
    device = bot.runtime.client.device_id
    trust = await ole.command("trust", user=bot.user_id, device=device)
    assert trust["known"] and trust["signed_by_owner"], trust

    # Both say yes: Ole with a 👍 from Element (the bot can read only because Element
    # shares keys with it), Karen in words.
    await ole.command("react", room=room, event_id=question["event_id"], key="👍")
    await ole.command("say", room=room, body="Det glæder jeg mig til")
    await inbox.say("ja")
    await inbox.message(bot.user_id, "I sagde begge ja")

    async def matched() -> Match | None:
        async with own_db.session() as session:
            match = await session.scalar(select(Match).where(Match.proposal_id == proposal.id))
        return match if match is not None and match.state == "introduced" else None

    match = await eventually(matched, what="the visit room to be made and introduced")
    assert match.room_id is not None
    # The ice-breaker reads on both stacks.
    await eventually(
        lambda: _invited_to(ole, match.room_id), what="Ole's invitation to the visit room"
    )
    await ole.command("join", room=match.room_id)
    await ole.message(match.room_id, bot.user_id, "Velkommen, Karen og Ole")
    karen_visit = await join_invited_room(karen, match.room_id)
    await karen_visit.message(bot.user_id, "Velkommen, Karen og Ole")
    ole.check()


async def _invited_to(person: ElementPerson, room_id: str) -> bool:
    return any(r["type"] == "invite" and r["room"] == room_id for r in person.reports)


async def test_a_second_device_is_asked_the_open_proposal_again(
    synapse: SynapseHarness,
    own_db: Database,
    own_matchmaker: Callable[..., Awaitable[RunningBot]],
    tmp_path: Path,
    clients: list[Any],
) -> None:
    """Inger reads a proposal on her phone, then signs in on a new tablet: the open
    question comes again there, readable, and her answer from the tablet counts."""
    inger_id, bo_id = unique("inger", synapse), unique("bo", synapse)
    passwords = await import_people(
        synapse,
        own_db,
        tmp_path,
        [
            f"citizen,{inger_id},Inger Madsen,1950,female,Odense,5000,da,"
            "strikning;krimier,chat;video,wed-am;sat-pm,",
            f"volunteer,{bo_id},Bo Lund,1990,male,Odense,5000,da,"
            "strikning;krimier,chat;video,wed-am;sat-pm,1",
        ],
    )
    phone = await first_sign_in(synapse, inger_id, passwords[inger_id], tmp_path / "phone")
    clients.append(phone)
    bot = await own_matchmaker()
    on_phone = await join_invited_room(phone)
    await on_phone.message(bot.user_id, "velkommen til connec")
    await run_round(own_db, bot.runtime.settings, bot.runtime.clock.now())
    bot.runtime.wake("proposal delivery")
    await on_phone.message(bot.user_id, "Har du lyst til at mødes", "Bo")

    tablet = await first_sign_in(synapse, inger_id, passwords[inger_id], tmp_path / "tablet")
    clients.append(tablet)
    on_tablet = Inbox(tablet, on_phone.room_id)
    again = await on_tablet.message(bot.user_id, "ny enhed", "Har du lyst til at mødes", "Bo")
    # Asked once on the tablet's behalf; the phone sees the repeat too, and nothing else.
    assert len(on_tablet.received(bot.user_id, "ny enhed")) == 1
    await on_tablet.react(again.event_id, "👍")

    async def answered() -> Proposal | None:
        async with own_db.session() as session:
            inger = await session.scalar(select(Person).where(Person.matrix_id == inger_id))
            assert inger is not None
            proposal = await session.scalar(
                select(Proposal).where((Proposal.a_id == inger.id) | (Proposal.b_id == inger.id))
            )
        if proposal is None:
            return None
        side = "a" if proposal.a_id == inger.id else "b"
        return proposal if getattr(proposal, f"{side}_answer") == "yes" else None

    await eventually(answered, what="Inger's 👍 from the tablet to count as her yes")
    await on_tablet.message(bot.user_id, "så snart den anden også har svaret")
    await on_tablet.reader.barrier(on_phone.room_id)
    assert len(on_tablet.received(bot.user_id, "ny enhed")) == 1


async def test_an_ice_breaker_waits_until_both_people_have_signed_in(
    synapse: SynapseHarness,
    own_db: Database,
    own_matchmaker: Callable[..., Awaitable[RunningBot]],
    tmp_path: Path,
    clients: list[Any],
) -> None:
    """A match made for someone who has not signed in yet (a coordinator's pairing):
    the room is made and both invited, but the first words wait for both."""
    ruth_id, jens_id = unique("ruth", synapse), unique("jens", synapse)
    passwords = await import_people(
        synapse,
        own_db,
        tmp_path,
        [
            f"citizen,{ruth_id},Ruth Nielsen,1944,female,Vejle,7100,da,fuglekiggeri,chat,mon-am,",
            f"volunteer,{jens_id},Jens Dahl,1979,male,Vejle,7100,da,fuglekiggeri,chat,mon-am,1",
        ],
    )
    ruth = await first_sign_in(synapse, ruth_id, passwords[ruth_id], tmp_path / "ruth")
    clients.append(ruth)
    async with own_db.session() as session:
        people = {
            p.matrix_id: p
            for p in await session.scalars(
                select(Person).where(Person.matrix_id.in_([ruth_id, jens_id]))
            )
        }
        match = Match(a_id=people[ruth_id].id, b_id=people[jens_id].id, state="accepted")
        session.add(match)
    bot = await own_matchmaker()
    bot.runtime.wake("visit rooms")

    async def introduced() -> Match | None:
        async with own_db.session() as session:
            row = await session.get(Match, match.id)
        return row if row is not None and row.state == "introduced" else None

    ready = await eventually(introduced, what="the room made, both invited, the ice-breaker posted")
    assert ready.room_id is not None
    [ice_breaker] = await waiting(own_db, ready.room_id)
    assert ice_breaker.readers == [ruth_id, jens_id]
    # Ruth accepts at once; the room stays quiet while Jens has not signed in.
    ruth_view = await join_invited_room(ruth, ready.room_id)

    jens = await first_sign_in(synapse, jens_id, passwords[jens_id], tmp_path / "jens")
    clients.append(jens)
    jens_view = await join_invited_room(jens, ready.room_id)
    for view in (jens_view, ruth_view):
        await view.message(bot.user_id, "Velkommen, Ruth og Jens")


async def test_a_citizen_enrolled_on_the_portal_reads_the_welcome_when_she_signs_in_days_later(
    synapse: SynapseHarness, start_bot, db: Database, tmp_path: Path, clients: list[Any]
) -> None:
    """A frontline worker enrols Birthe with her; the matchmaker greets her at once; she
    signs in later with the letter's password and reads the welcome."""
    frida = await add_member(synapse, db, "frida", "frontline", "Aarhus")
    bot = await start_bot(Matchmaker())
    portal = TestClient(TestServer(make_app(synapse.settings)))
    await portal.start_server()
    try:
        await signed_in(portal, frida)
        token = await token_for(portal, "/borgere/ny")
        form = citizen_form(name=f"Birthe Holm {os.urandom(2).hex()}")
        response = await portal.post(
            "/borgere/ny",
            data=[*form_pairs(form), ("csrf_token", token)],
            allow_redirects=False,
        )
        assert response.status == 303, await response.text()
        letter = await (await portal.get(response.headers["Location"])).text()
    finally:
        await portal.close()
    password = re.search(r'data-testid="first-password">([^<]+)<', letter)
    assert password is not None
    async with db.session() as session:
        birthe = await session.scalar(select(Person).where(Person.display_name == form["name"]))
    assert birthe is not None
    await written_but_unread(db, birthe.matrix_id, 1)

    client = await first_sign_in(synapse, birthe.matrix_id, password.group(1), tmp_path / "b")
    clients.append(client)
    inbox = await join_invited_room(client)
    await inbox.message(bot.user_id, "velkommen til connec")


async def test_a_volunteer_approved_before_signing_in_reads_the_welcome_on_element(
    synapse: SynapseHarness,
    start_bot,
    coordinators_room: Inbox,
    enrol,
    clients: list[Any],
) -> None:
    """A coordinator approves Yusuf, who signed up but has never signed in; the welcome
    waits for him and reads on Element's own crypto."""
    require_element_client()
    account = await synapse.register("yusuf", displayname="Yusuf")
    yusuf = await enrol(
        "yusuf", "volunteer", "Yusuf Kaya", matrix_id=account.user_id, approval="pending"
    )
    bot = await start_bot(Matchmaker())
    await coordinators_room.say(f"!godkend {yusuf.matrix_id}")
    question = await coordinators_room.message(bot.user_id, "Jeg vil:", "Yusuf Kaya")
    await coordinators_room.react(question.event_id, "✅")
    await coordinators_room.message(bot.user_id, "Yusuf Kaya", "er godkendt")
    db = bot.runtime.db
    await written_but_unread(db, yusuf.matrix_id, 1)

    element = await ElementPerson.sign_in(synapse.url, account.user_id, account.password)
    clients.append(element)
    room = await element.invitation(sender=bot.user_id)
    await element.command("join", room=room)
    await element.message(room, bot.user_id, "velkommen til connec")
    element.check()


async def test_a_person_who_opens_a_room_while_the_bot_opens_one_for_them_is_greeted_in_theirs(
    synapse: SynapseHarness,
    person,
    own_db: Database,
    own_matchmaker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sofie taps "Start chat" with connec in the moment the matchmaker, having just
    learnt of her, is making a room for her. She is greeted in the room she opened,
    and the bot leaves the one it made: one room where connec speaks, not two."""
    from bots.matchmaker import jobs
    from tests.bots.matchmaker.conftest import add_person

    client = await person("sofie", "Sofie Holm")
    bot = await own_matchmaker()
    runtime = bot.runtime
    theirs: list[str] = []
    ours: list[str] = []
    making = runtime._create_direct_room

    async def while_she_opens_hers(matrix_id: str, token: str, *, remote: bool) -> str:
        # Hers is opened, and the bot has joined it, before the bot's own room exists.
        response = await client.room_create(is_direct=True, invite=[bot.user_id])
        assert isinstance(response, nio.RoomCreateResponse), response
        theirs.append(response.room_id)

        async def known() -> bool:
            async with own_db.session() as session:
                stored = await session.scalar(
                    select(DirectRoom.room_id).where(DirectRoom.matrix_id == matrix_id)
                )
            return stored == response.room_id

        await eventually(known, what="the bot to take Sofie's room as her direct room")
        ours.append(await making(matrix_id, token, remote=remote))
        return ours[0]

    monkeypatch.setattr(runtime, "_create_direct_room", while_she_opens_hers)
    await add_person(own_db, client.user_id, "citizen", "Sofie Holm")
    runtime.wake(jobs.WELCOME)

    greeting = await Inbox(client, await eventually(lambda: _first(theirs))).message(
        bot.user_id, timeout=60
    )
    assert "connec" in greeting.body
    async with own_db.session() as session:
        row = await session.scalar(select(DirectRoom).where(DirectRoom.matrix_id == client.user_id))
    assert row is not None and row.room_id == theirs[0] and row.greeted_at is not None

    # The bot left the room it made meanwhile: everything it says to her is in hers.
    async def left() -> bool:
        if not ours:
            return False
        rooms = await bot.runtime.client.joined_rooms()
        assert isinstance(rooms, nio.JoinedRoomsResponse), rooms
        return ours[0] not in rooms.rooms and theirs[0] in rooms.rooms

    await eventually(left, what="the bot to leave the room it made meanwhile")
    rooms = await client.joined_rooms()
    assert isinstance(rooms, nio.JoinedRoomsResponse)
    assert rooms.rooms == theirs


async def _first(values: list[str]) -> str | None:
    return values[0] if values else None
