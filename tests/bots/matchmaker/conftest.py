"""The coordinator, logged in once for the session, and helpers for stories that read
the coordinators' room and a person's direct room."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import nio
import pytest
from sqlalchemy import select

from bots.common.runtime import BotRuntime
from bots.matchmaker.bot import Matchmaker
from connec.clock import Clock
from connec.db import Database
from connec.models import AuditEntry, Person
from tests.bots.conftest import RunningBot, own_database
from tests.harness import Reader, Received, SynapseHarness, eventually, reader_of, sign_in


class Inbox:
    """What one client sees in one room, kept until a story takes it.

    A view on the client's one :class:`~tests.harness.Reader`, so nothing another
    room or another view receives is lost, and a bot's message the client cannot
    decrypt fails the story. Waiting for "the next message" breaks when something
    else arrives first; a story instead waits for the message it expects (by
    sender and words, or the reaction on an event), wherever it sits among the rest.
    """

    def __init__(self, client: nio.AsyncClient, room_id: str) -> None:
        self.client = client
        self.room_id = room_id
        self._reader = reader_of(client)
        self._seen = 0  # how far into the reader's log this view has looked
        self._pending: list[Received] = []

    @property
    def reader(self) -> Reader:
        """The client's reader (a new one each test, for a client that lives longer)."""
        current = reader_of(self.client)
        if current is not self._reader:
            self._reader, self._seen = current, 0
        return current

    @property
    def events(self) -> list[Any]:
        """What arrived in the room and has not been taken yet."""
        self._pull()
        return [received.event for received in self._pending]

    def _pull(self) -> None:
        log = self.reader.log
        self._pending += [r for r in log[self._seen :] if r.room_id == self.room_id]
        self._seen = len(log)

    async def sync(self, timeout_ms: int = 500) -> None:
        await self.reader.sync(timeout_ms)
        self._pull()

    def clear(self) -> None:
        self._pull()
        self._pending.clear()

    def received(self, sender: str, *words: str) -> list[nio.RoomMessageText]:
        """Every readable message from ``sender`` with these words that ever came, taken
        or not: for counting (a question asked twice shows here)."""
        return [
            e
            for e in self.reader.texts(self.room_id, sender)
            if all(word in e.body for word in words)
        ]

    async def take(self, match: Callable[[Any], bool], *, what: str, timeout: float = 30) -> Any:
        async def check() -> Any:
            self._pull()
            for index, received in enumerate(self._pending):
                if match(received.event):
                    return self._pending.pop(index).event
            await self.sync()
            return None

        return await eventually(check, timeout=timeout, what=what)

    async def message(self, sender: str, *words: str, timeout: float = 30) -> nio.RoomMessageText:
        """The first message from ``sender`` holding all of ``words``."""

        def match(event: Any) -> bool:
            return (
                isinstance(event, nio.RoomMessageText)
                and event.sender == sender
                and all(word in event.body for word in words)
            )

        return await self.take(match, what=f"a message from {sender} with {words}", timeout=timeout)

    async def reaction(
        self, sender: str, reacts_to: str, key: str, *, timeout: float = 30
    ) -> nio.ReactionEvent:
        """``sender``'s reaction ``key`` on the event ``reacts_to``."""

        def match(event: Any) -> bool:
            return (
                isinstance(event, nio.ReactionEvent)
                and event.sender == sender
                and event.reacts_to == reacts_to
                and event.key == key
            )

        return await self.take(match, what=f"{key} from {sender} on {reacts_to}", timeout=timeout)

    async def say(self, text: str, *, reply_to: str | None = None, html: str | None = None) -> str:
        content: dict[str, Any] = {"msgtype": "m.text", "body": text}
        if html is not None:
            content |= {"format": "org.matrix.custom.html", "formatted_body": html}
        if reply_to is not None:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        response = await self.client.room_send(
            self.room_id, "m.room.message", content, ignore_unverified_devices=True
        )
        assert isinstance(response, nio.RoomSendResponse), response
        return response.event_id

    async def react(self, event_id: str, key: str) -> str:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        response = await self.client.room_send(
            self.room_id, "m.reaction", content, ignore_unverified_devices=True
        )
        assert isinstance(response, nio.RoomSendResponse), response
        return response.event_id


@pytest.fixture(scope="session")
async def coordinator(
    synapse: SynapseHarness, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Inbox]:
    """The coordinator of the deployment, in the coordinators' room.

    Logged in once per session with the password `connec init` wrote: Synapse limits
    password logins per address.
    """
    settings = synapse.settings
    user_id = settings.user_id(settings.coordinator_localpart)
    await synapse.admin.exempt_from_rate_limits(user_id)
    client = await sign_in(
        synapse.url,
        user_id,
        settings.paths.coordinator_password.read_text().strip(),
        tmp_path_factory.mktemp("coordinator-store"),
        device_name="tests",
    )
    await client.sync(timeout=0, full_state=True)
    inbox = Inbox(client, synapse.facts["coordinators_room_id"])
    try:
        yield inbox
    finally:
        await client.close()


@pytest.fixture(scope="session")
async def db(synapse: SynapseHarness) -> AsyncIterator[Database]:
    """connec's database, shared with the bots the stories start."""
    database = Database(synapse.settings.db_url)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def own_db(synapse: SynapseHarness, tmp_path: Path) -> AsyncIterator[Database]:
    """A database of this test's own, so people from other tests are not matched."""
    database = await own_database(synapse, tmp_path)
    yield database
    await database.close()


@pytest.fixture
async def own_matchmaker(
    synapse: SynapseHarness, own_db: Database
) -> AsyncIterator[Callable[..., Awaitable[RunningBot]]]:
    """The matchmaker on ``own_db``, by default with proposals going out directly (no
    approval)."""
    running: list[RunningBot] = []

    async def start(
        *, approval: bool = False, clock: Clock | None = None, round_after_seconds: int = 0
    ) -> RunningBot:
        matching = synapse.settings.matching.model_copy(
            update={"requires_approval": approval, "after_new_person_seconds": round_after_seconds}
        )
        settings = synapse.settings.model_copy(
            update={"matching": matching, "database_url": own_db.url}
        )
        bot = RunningBot(synapse, Matchmaker())
        bot.runtime = BotRuntime(settings, Matchmaker(), clock=clock)
        running.append(bot)
        return await bot.start()

    yield start
    for bot in running:
        await bot.stop()


async def add_person(
    db: Database, matrix_id: str, role: str, display_name: str, **profile: Any
) -> Person:
    """A person connec knows, with a profile complete enough to be matched."""
    values: dict[str, Any] = {
        "languages": ["da"],
        "interest_keys": ["jazz", "gardening"],
        "contact_modes": ["chat", "video"],
        "availability": ["tue-am", "thu-pm"],
        "birth_year": 1950 if role == "citizen" else 1990,
        "profile_complete": True,
        "approval": "approved",
        **profile,
    }
    async with db.session() as session:
        person = Person(matrix_id=matrix_id, role=role, display_name=display_name, **values)
        session.add(person)
    return person


async def audit_of(db: Database, action: str, subject: str | None = None) -> list[AuditEntry]:
    """Audit rows of one action (and subject), oldest first."""
    query = select(AuditEntry).where(AuditEntry.action == action)
    if subject is not None:
        query = query.where(AuditEntry.subject == subject)
    async with db.session() as session:
        return list((await session.scalars(query.order_by(AuditEntry.id))).all())


@pytest.fixture
async def coordinators_room(coordinator: Inbox) -> Inbox:
    """The coordinators' room as the coordinator sees it, without older stories' messages."""
    await coordinator.sync(0)
    coordinator.clear()
    return coordinator


@pytest.fixture
async def enrol(synapse: SynapseHarness, db: Database) -> Callable[..., Awaitable[Person]]:
    """A factory of people connec knows, each with a real account.

    When the story ends its people leave connec, and their open proposals and
    matches close (tests/leftovers.py), so later stories' matching rounds never meet
    them.
    """

    async def make(
        name: str,
        role: str,
        display_name: str | None = None,
        *,
        matrix_id: str | None = None,
        **profile: Any,
    ) -> Person:
        if matrix_id is None:
            matrix_id = (await synapse.register(name)).user_id
        return await add_person(db, matrix_id, role, display_name or name.title(), **profile)

    return make


async def open_direct_room(client: nio.AsyncClient, bot_id: str) -> Inbox:
    """A person opens a direct room with a bot, as Element does, and is greeted there.

    Waiting for the greeting matters: what is said before the bot joins is history
    to it, and never answered.
    """
    response = await client.room_create(is_direct=True, invite=[bot_id])
    assert isinstance(response, nio.RoomCreateResponse), response
    inbox = Inbox(client, response.room_id)
    await inbox.message(bot_id)
    return inbox


async def join_invited_room(
    client: nio.AsyncClient, room_id: str | None = None, *, timeout: float = 60
) -> Inbox:
    """Wait for an invitation (to ``room_id``, or any new one), accept it, and read it."""
    reader = reader_of(client)
    joined_before = set(reader.joined)

    async def invited() -> str | None:
        await reader.sync()
        for invite in reader.invites:
            if invite not in joined_before and room_id in (None, invite):
                await reader.join(invite)
                return invite
        return None

    joined = await eventually(
        invited, timeout=timeout, what=f"an invitation to {room_id or 'a room'}"
    )
    return Inbox(client, joined)
