"""The real parts tests run against: a Synapse from connec's own templates, and
real matrix-nio clients acting as people."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import nio

from connec import throwaway

T = TypeVar("T")


Account = throwaway.Account


class SynapseHarness(throwaway.ThrowawaySynapse):
    """One real Synapse for the whole test session."""


async def new_person_client(
    harness: SynapseHarness, store: Path, name: str, displayname: str | None = None
) -> nio.AsyncClient:
    """A logged-in nio client with encryption, as a person's app would be."""
    made_at = time.time()
    account = await harness.register(name, displayname=displayname or name.capitalize())
    store.mkdir(parents=True, exist_ok=True)
    client = nio.AsyncClient(
        harness.url,
        account.user_id,
        device_id=account.device_id,
        store_path=str(store),
        config=nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
    )
    mark_device_made(client, made_at)
    client.restore_login(account.user_id, account.device_id, account.access_token)
    client.password = account.password  # type: ignore[attr-defined]
    if client.should_upload_keys:
        await client.keys_upload()
    await client.sync(timeout=0, full_state=True)
    return client


async def sign_in(
    homeserver: str, user_id: str, password: str, store: Path, *, device_name: str = "tablet"
) -> nio.AsyncClient:
    """Someone signs in with their password on a new device, as a fresh Element does."""
    store.mkdir(parents=True, exist_ok=True)
    client = nio.AsyncClient(
        homeserver,
        user_id,
        store_path=str(store),
        config=nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
    )
    mark_device_made(client)
    response = await client.login(password, device_name=device_name)
    assert isinstance(response, nio.LoginResponse), response
    if client.should_upload_keys:
        await client.keys_upload()
    return client


async def eventually(
    check: Callable[[], Awaitable[T | None]], *, timeout: float = 30.0, what: str = "condition"
) -> T:
    """Poll an async check until it gives a truthy value (no fixed sleeps in tests)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.1
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 1.0)


BOT_LOCALPARTS = ("matchmaker", "scheduler")
# A room key may come a sync or two after the message it opens; longer than this,
# and the message is one its reader will never read.
KEY_GRACE = 10.0


def is_bot(user_id: str) -> bool:
    return user_id.lstrip("@").split(":")[0] in BOT_LOCALPARTS


@dataclass
class Received:
    """One event a client received, in the room it came in."""

    room_id: str
    event: Any
    at: float  # loop time it first came


class UnreadableMessage(AssertionError):
    """A bot sent this client a message it cannot decrypt: a person would see
    "Unable to decrypt" where the bot meant to speak."""


class Reader:
    """Everything one client receives, in every room, from its first sync on.

    One per client (:func:`reader_of`): each sync moves a client on, so two readers
    of one client would each miss what the other took. Nothing is ever dropped:
    stories take what they expect from views (:class:`RoomInbox`), and counts are
    made over everything received. A bot's message that stays undecryptable for
    ``KEY_GRACE`` seconds fails the test that receives it, at the next sync or at
    the test's end (``tests/conftest.py``).
    """

    def __init__(self, client: nio.AsyncClient) -> None:
        self.client = client
        self.log: list[Received] = []
        self.invites: list[str] = []
        self.taken: dict[tuple[str, str], int] = {}  # (room, sender): messages handed out
        self.joined: list[str] = []  # invites this reader accepted

    async def join(self, room_id: str) -> None:
        """Accept an invitation, as a person taps "Accept" in Element."""
        response = await self.client.join(room_id)
        assert isinstance(response, nio.JoinResponse), response
        self.joined.append(room_id)

    async def sync(self, timeout_ms: int = 500) -> None:
        response = await self.client.sync(timeout=timeout_ms)
        now = asyncio.get_running_loop().time()
        if isinstance(response, nio.SyncResponse):
            for room_id in response.rooms.invite:
                if room_id not in self.invites:
                    self.invites.append(room_id)
            for room_id, info in response.rooms.join.items():
                self.log.extend(Received(room_id, event, now) for event in info.timeline.events)
        self._decrypt_late()
        self.check(grace=KEY_GRACE)

    async def open_room(self, room_id: str, limit: int = 50) -> None:
        """Read the room's history, as Element does on opening a room: a server that
        joined a room on another server has only what came after its join until it
        asks for more (``/messages`` backfills it over federation)."""
        response = await self.client.room_messages(
            room_id, start=None, direction=nio.MessageDirection.back, limit=limit
        )
        assert isinstance(response, nio.RoomMessagesResponse), response
        now = asyncio.get_running_loop().time()
        known = {getattr(r.event, "event_id", None) for r in self.log if r.room_id == room_id}
        # Appended, not put before what came: views keep their place in the log.
        self.log += [
            Received(room_id, event, now)
            for event in reversed(response.chunk)
            if event.event_id not in known
        ]
        self._decrypt_late()
        self.check(grace=KEY_GRACE)

    def _decrypt_late(self) -> None:
        """Open messages whose room key came after them."""
        for received in self.log:
            if isinstance(received.event, nio.MegolmEvent):
                with contextlib.suppress(Exception):
                    opened = self.client.decrypt_event(received.event)
                    if not isinstance(opened, nio.MegolmEvent):
                        received.event = opened

    def check(self, *, grace: float = 0.0) -> None:
        """Fail on a bot's message still undecryptable after ``grace`` seconds.

        Only messages sent after this device was made: older ones are history a new
        device cannot open (the person's key backup is for that), as in Element.
        """
        now = asyncio.get_running_loop().time()
        since = device_made_at(self.client)
        for received in self.log:
            event = received.event
            if (
                isinstance(event, nio.MegolmEvent)
                and is_bot(event.sender)
                and event.server_timestamp >= since
                and now - received.at >= grace
            ):
                raise UnreadableMessage(
                    f"{self.client.user_id} cannot decrypt {event.sender}'s message "
                    f"{event.event_id} in {received.room_id} (session {event.session_id})"
                )

    async def final_check(self) -> None:
        """At the end of a test: one more sync for late keys, then nothing unreadable.

        The sync is bounded: the test may have closed the client or stopped its
        Synapse, and nio would retry for ever.
        """
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await self.sync(timeout_ms=0)
        self._decrypt_late()
        self.check(grace=0.0)

    def events(self, room_id: str) -> list[Any]:
        return [r.event for r in self.log if r.room_id == room_id]

    def texts(self, room_id: str, sender: str | None = None) -> list[nio.RoomMessageText]:
        """Every readable message in a room (from ``sender``), in the order they came."""
        return [
            e
            for e in self.events(room_id)
            if isinstance(e, nio.RoomMessageText) and (sender is None or e.sender == sender)
        ]

    async def barrier(self, room_id: str) -> None:
        """Sync until an event this client sends now comes back: everything sent to the
        room before it has then been received. The marker is a reaction with a key no
        bot answers (reactions are not encrypted and are not conversation)."""
        latest = await self.client.room_messages(
            room_id, start=self.client.next_batch, direction=nio.MessageDirection.back, limit=1
        )
        assert isinstance(latest, nio.RoomMessagesResponse) and latest.chunk, latest
        anchor = latest.chunk[0].event_id
        key = f"test-barrier-{secrets.token_hex(4)}"
        response = await self.client.room_send(
            room_id,
            "m.reaction",
            {"m.relates_to": {"rel_type": "m.annotation", "event_id": anchor, "key": key}},
            ignore_unverified_devices=True,
        )
        assert isinstance(response, nio.RoomSendResponse), response
        marker = response.event_id

        async def came_back() -> bool:
            await self.sync()
            return any(getattr(r.event, "event_id", None) == marker for r in self.log)

        await eventually(came_back, what="the test's own marker back from the room")


_readers: dict[int, Reader] = {}
# Synapse and the tests share one machine, so one clock; a little slack for rounding.
CLOCK_SLACK_MS = 50


def mark_device_made(client: nio.AsyncClient, at: float | None = None) -> None:
    """Note when a client's device was made (``at``, seconds since the epoch: just
    before registering or signing in; now by default)."""
    made = time.time() if at is None else at
    client.device_made_at = int(made * 1000) - CLOCK_SLACK_MS  # type: ignore[attr-defined]


def device_made_at(client: nio.AsyncClient) -> int:
    made = getattr(client, "device_made_at", None)
    assert made is not None, "a test client must say when its device was made"
    return int(made)


def reader_of(client: nio.AsyncClient) -> Reader:
    """The one reader of a client."""
    reader = _readers.get(id(client))
    if reader is None or reader.client is not client:
        reader = _readers[id(client)] = Reader(client)
    return reader


def readers() -> list[Reader]:
    return list(_readers.values())


def forget_readers() -> None:
    _readers.clear()


async def messages_from(
    client: nio.AsyncClient, room_id: str, sender: str, *, timeout: float = 30.0, count: int = 1
) -> list[Any]:
    """Sync until ``sender`` has sent ``count`` more readable messages in ``room_id``
    than the caller has taken so far; returns those."""
    reader = reader_of(client)
    taken = reader.taken.get((room_id, sender), 0)

    async def check() -> list[Any] | None:
        await reader.sync(timeout_ms=1000)
        new = reader.texts(room_id, sender)[taken:]
        return new[:count] if len(new) >= count else None

    found = await eventually(check, timeout=timeout, what=f"{count} message(s) from {sender}")
    reader.taken[(room_id, sender)] = taken + count
    return found
