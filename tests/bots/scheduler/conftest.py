"""Visit rooms made the way the matchmaker makes them, for the scheduler's stories.

The room is created with the matchmaker's own account (private, invite-only,
encrypted, the bots as service members), both people and the scheduler are
invited, and a ``Match`` row ties it to two ``Person`` rows, as the matchmaker
leaves it after its ice-breaker. The people are fresh for every test, so tests do
not see each other's rows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nio
import pytest
from sqlalchemy import select

from bots.scheduler.bot import Scheduler
from bots.scheduler.reminders import timer_of
from connec.clock import Clock
from connec.db import Database
from connec.models import Booking, Match, OutboxMessage, Person, Reminder, WellbeingAnswer
from connec.provision import BotCredentials, credentials_path
from connec.settings import Settings
from tests.bots.conftest import RunningBot
from tests.harness import Reader, SynapseHarness, eventually, reader_of, sign_in

Event = Any


@dataclass
class VisitPair:
    """Two people in their visit room, as clients and as rows."""

    room_id: str
    a: nio.AsyncClient
    b: nio.AsyncClient
    a_row: Person
    b_row: Person
    match_id: int


@pytest.fixture
async def db(synapse: SynapseHarness) -> AsyncIterator[Database]:
    database = Database(synapse.settings.db_url)
    yield database
    await database.close()


def scheduler_settings(synapse: SynapseHarness, **visits: Any) -> Settings:
    """The session's settings with some of ``visits`` changed (e.g. reminder offsets)."""
    settings = synapse.settings
    return settings.model_copy(update={"visits": settings.visits.model_copy(update=visits)})


@pytest.fixture
async def scheduler(
    synapse: SynapseHarness,
) -> AsyncIterator[Callable[..., Awaitable[RunningBot]]]:
    """``await scheduler(clock=..., **visits)``: a running scheduler bot; stopped after."""
    running: list[RunningBot] = []

    async def start(clock: Clock | None = None, **visits: Any) -> RunningBot:
        bot = RunningBot(synapse, Scheduler(), clock)
        if visits:
            from bots.common.runtime import BotRuntime

            bot.runtime = BotRuntime(
                scheduler_settings(synapse, **visits), bot.runtime.bot, clock=clock
            )
        running.append(bot)
        return await bot.start()

    yield start
    for bot in running:
        await bot.stop()


async def joined_members(synapse: SynapseHarness, room_id: str) -> set[str]:
    members = await synapse.admin.admin("GET", f"/v1/rooms/{quote(room_id)}/members")
    return set(members.get("members", []))


@pytest.fixture
async def visit_pair(
    synapse: SynapseHarness, person: Callable[..., Awaitable[nio.AsyncClient]], db: Database
) -> Callable[..., Awaitable[VisitPair]]:
    """``await visit_pair("karen", "john", b_language="en", ...)``: a ready visit room."""

    async def make(
        a_name: str = "karen",
        b_name: str = "john",
        *,
        a_language: str = "da",
        b_language: str = "da",
        a_timezone: str = "Europe/Copenhagen",
        b_timezone: str = "Europe/Copenhagen",
        introduced_at: datetime | None = None,
        state: str = "introduced",
        wellbeing_asked: bool = True,
    ) -> VisitPair:
        a = await person(a_name, a_name.capitalize())
        b = await person(b_name, b_name.capitalize())
        rows = []
        async with db.session() as session:
            for client, role, language, zone in (
                (a, "citizen", a_language, a_timezone),
                (b, "volunteer", b_language, b_timezone),
            ):
                row = Person(
                    matrix_id=client.user_id,
                    role=role,
                    display_name=client.user_id.split("-")[0].lstrip("@").capitalize(),
                    language=language,
                    timezone=zone,
                )
                session.add(row)
                rows.append(row)
            await session.flush()
            if wellbeing_asked:
                # Asked lately, so the care job does not start the wellbeing questions
                # in the middle of the story under test.
                now = datetime.now(UTC)
                session.add(
                    WellbeingAnswer(
                        person_id=rows[0].id,
                        asked_at=now,
                        answered_at=now,
                        companionship=2,
                        left_out=1,
                        isolated=2,
                    )
                )
        room_id = await create_visit_room(synapse, [a.user_id, b.user_id])
        async with db.session() as session:
            match = Match(
                a_id=rows[0].id,
                b_id=rows[1].id,
                state=state,
                room_id=room_id,
                introduced_at=introduced_at,
                last_activity_at=introduced_at,
            )
            session.add(match)
        for client in (a, b):
            joined = await client.join(room_id)
            assert isinstance(joined, nio.JoinResponse), joined
        scheduler_id = synapse.settings.user_id(synapse.settings.scheduler.localpart)

        async def everyone_in() -> bool:
            return {a.user_id, b.user_id, scheduler_id} <= await joined_members(synapse, room_id)

        await eventually(everyone_in, what="both people and the scheduler in the visit room")
        for client in (a, b):
            await client.sync(timeout=0)
        return VisitPair(room_id, a, b, rows[0], rows[1], match.id)

    return make


async def create_visit_room(synapse: SynapseHarness, people: list[str]) -> str:
    """A visit room as the matchmaker makes it, with the matchmaker's own account."""
    settings = synapse.settings
    creds = BotCredentials.load(credentials_path(settings, "matchmaker"))
    assert creds is not None
    scheduler = settings.user_id(settings.scheduler.localpart)
    room = await synapse.admin.request(
        "POST",
        "/_matrix/client/v3/createRoom",
        token=creds.access_token,
        json={
            "preset": "private_chat",
            "visibility": "private",
            "name": "Besøgsrum",
            "invite": [*people, scheduler],
            "initial_state": [
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                },
                {
                    "type": "m.room.history_visibility",
                    "state_key": "",
                    "content": {"history_visibility": "shared"},
                },
                {
                    "type": "io.element.functional_members",
                    "state_key": "",
                    "content": {"service_members": [creds.user_id, scheduler]},
                },
            ],
            "power_level_content_override": {"users": {scheduler: 50}},
        },
    )
    return str(room["room_id"])


# --- Talking ----------------------------------------------------------------------------


async def say(client: nio.AsyncClient, room_id: str, text: str) -> str:
    response = await client.room_send(
        room_id,
        "m.room.message",
        {"msgtype": "m.text", "body": text},
        ignore_unverified_devices=True,
    )
    assert isinstance(response, nio.RoomSendResponse), response
    return response.event_id


async def react(client: nio.AsyncClient, room_id: str, event_id: str, key: str) -> str:
    response = await client.room_send(
        room_id,
        "m.reaction",
        {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}},
        ignore_unverified_devices=True,
    )
    assert isinstance(response, nio.RoomSendResponse), response
    return response.event_id


class Inbox:
    """What one client receives, with the bot's messages picked out: a view on the
    client's one :class:`~tests.harness.Reader` (several views of one client see the
    same events; a bot's message the client cannot decrypt fails the test).

    Invitations are accepted as they come, as a person taps "Accept".
    """

    def __init__(self, client: nio.AsyncClient, bot: str) -> None:
        self.client = client
        self.bot = bot

    @property
    def reader(self) -> Reader:
        return reader_of(self.client)

    @property
    def invites(self) -> list[str]:
        return self.reader.invites

    async def sync(self) -> None:
        reader = self.reader
        await reader.sync()
        for room_id in reader.invites:
            if room_id not in reader.joined:
                await reader.join(room_id)

    def texts(self, room_id: str, sender: str | None = None) -> list[nio.RoomMessageText]:
        return self.reader.texts(room_id, sender or self.bot)

    async def wait_text(
        self, room_id: str, containing: str, *, sender: str | None = None, timeout: float = 30.0
    ) -> nio.RoomMessageText:
        """The first message from the bot (or ``sender``) in the room with these words."""

        async def check() -> nio.RoomMessageText | None:
            found = [e for e in self.texts(room_id, sender) if containing in e.body]
            if not found:
                await self.sync()
                found = [e for e in self.texts(room_id, sender) if containing in e.body]
            return found[0] if found else None

        return await eventually(check, timeout=timeout, what=f"a message with “{containing}”")

    async def wait_file(self, room_id: str, *, timeout: float = 30.0) -> Event:
        files = (nio.RoomEncryptedFile, nio.RoomMessageFile)

        async def check() -> Event | None:
            await self.sync()
            found = [e for e in self.reader.events(room_id) if isinstance(e, files)]
            return found[0] if found else None

        return await eventually(check, timeout=timeout, what="a calendar file")

    async def direct_room(self, *, timeout: float = 30.0) -> str:
        """The direct room the bot opened with this client (joined on the way)."""

        async def check() -> str | None:
            await self.sync()
            return next((r for r in self.invites if self.texts(r)), None)

        return await eventually(check, timeout=timeout, what="a direct room from the bot")

    async def count(self, room_id: str, containing: str, *, once: RunningBot) -> int:
        """How many bot messages with these words came, counted once ``once`` has
        nothing left to send: its timer caught up with its clock, nothing of the room
        waiting in its outbox, and everything sent before then received."""
        runtime = once.runtime

        async def settled() -> bool:
            timer = timer_of(runtime)
            if timer is not None and not timer.caught_up():
                return False
            async with runtime.db.session() as session:
                waiting = await session.scalar(
                    select(OutboxMessage.id).where(
                        OutboxMessage.bot == runtime.bot.name,
                        OutboxMessage.room_id == room_id,
                        OutboxMessage.state == "waiting",
                    )
                )
            return waiting is None

        await eventually(settled, what=f"{runtime.bot.name} to have nothing left to send")
        await self.reader.barrier(room_id)
        return sum(containing in e.body for e in self.texts(room_id))


async def coordinator_client(synapse: SynapseHarness, store: Path) -> nio.AsyncClient:
    """The coordinator, signed in on a new device, reading the coordinators' room."""
    settings = synapse.settings
    client = await sign_in(
        synapse.url,
        settings.user_id(settings.coordinator_localpart),
        settings.paths.coordinator_password.read_text().strip(),
        store,
        device_name="test coordinator",
    )
    await client.sync(timeout=0, full_state=True)
    return client


@pytest.fixture
async def coordinator(
    synapse: SynapseHarness, tmp_path: Path
) -> AsyncIterator[Callable[[], Awaitable[nio.AsyncClient]]]:
    clients: list[nio.AsyncClient] = []

    async def make() -> nio.AsyncClient:
        client = await coordinator_client(synapse, tmp_path / f"coordinator-{len(clients)}")
        clients.append(client)
        # No waiting for the bots to see the new device: they look up devices again
        # just before they write (tests/bots/test_first_contact.py).
        return client

    yield make
    for client in clients:
        await client.logout()
        await client.close()


# --- Rows ---------------------------------------------------------------------------------


async def bookings_in(db: Database, room_id: str) -> list[Booking]:
    async with db.session() as session:
        return list(
            (
                await session.scalars(
                    select(Booking).where(Booking.room_id == room_id).order_by(Booking.id)
                )
            ).all()
        )


async def reminders_of(db: Database, booking_id: int) -> list[Reminder]:
    async with db.session() as session:
        return list(
            (
                await session.scalars(
                    select(Reminder)
                    .where(Reminder.booking_id == booking_id)
                    .order_by(Reminder.due_at, Reminder.id)
                )
            ).all()
        )
