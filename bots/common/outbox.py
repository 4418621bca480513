"""Messages a bot starts, kept until someone can read them.

Megolm shares a room key only with the devices that exist when it is shared;
neither nio nor current Element asks for it again later. A welcome encrypted for a
person who has not signed in yet is unreadable forever. So every message a bot
starts on its own (a welcome, a proposal, a check-in, a reminder, a suggestion to
the coordinators) is a row here first, and goes out only when its readers have a
device:

- ``readers`` names who must be able to read it (a direct room: the person; an
  ice-breaker: both people); null means anyone in the room but the bots (the
  coordinators' room, a visit room's reminder).
- Rows of one room go out in the order they were written; a row that waits holds
  up the later rows of its room, never those of other rooms.
- A row is written before it is sent and marked sent after, with its
  deterministic transaction ID, so a crash between the two sends it once.
- Someone without a device is looked up again every ``LOOKUP_EVERY``; a device
  appearing in sync (``device_lists.changed``) wakes delivery at once.
- What a message was part of (``ref``, e.g. ``proposal:12:a``) lets its sender
  record the event when it goes out, in the same transaction that marks it sent,
  and lets answers to it (a 👍) and to its repeats find their way back.

Replies to what a person just wrote do not come here: the person is there, on the
device they wrote from (see ``BotRuntime.send``).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bots.common import metrics
from connec.models import OutboxMessage

if TYPE_CHECKING:
    from bots.common.runtime import BotRuntime

log = logging.getLogger(__name__)

WORKER = "outbox"
WAITING, SENT, CANCELLED = "waiting", "sent", "cancelled"
# How often someone who has no device yet is looked up again, besides the wake-up
# a device in sync gives.
LOOKUP_EVERY = 20.0
# Devices looked up this recently are taken as they are (a burst of messages to one
# room makes one look-up).
FRESH = 2.0
# Rooms delivered side by side; within a room, one message after the other. (The
# ice-breakers of a round's new rooms go out here: 8 at once left them 8 s behind
# the rooms at 100.)
PARALLEL_ROOMS = 24

# Called in the transaction that marks a message sent: (session, ref, event ID).
OnSent = Callable[[AsyncSession, str, str], Awaitable[None]]


class Outbox:
    """One bot's outbox: post, deliver when readable, cancel."""

    def __init__(self, runtime: BotRuntime) -> None:
        self.runtime = runtime
        self._room_locks: dict[str, asyncio.Lock] = {}
        self._looked_up: dict[str, float] = {}
        self._on_sent: dict[str, OnSent] = {}
        self.waiting = False  # something may be waiting: worth a look after a sync

    @property
    def bot(self) -> str:
        return self.runtime.bot.name

    def on_sent(self, kind: str, callback: OnSent) -> None:
        """Record, for messages whose ref starts with ``kind:``, what their sending means."""
        self._on_sent[kind] = callback

    # Posting -------------------------------------------------------------------------

    async def post(
        self,
        room_id: str,
        content: dict[str, Any],
        *,
        txn: str,
        readers: list[str] | None,
        subjects: Iterable[str] = (),
        ref: str | None = None,
        expires_at: datetime | None = None,
    ) -> str | None:
        """Keep a message and send it as soon as its readers can read it.

        Answers its event ID when it went out at once, else None: it waits, and is
        sent exactly once when a reader's device appears. Posting the same ``txn``
        again changes nothing.
        """
        known = await self._keep(
            OutboxMessage(
                bot=self.bot,
                room_id=room_id,
                txn=txn,
                readers=readers,
                subjects=sorted(set(subjects)),
                ref=ref,
                content=content,
                state=WAITING,
                created_at=self.runtime.clock.now(),
                expires_at=expires_at,
            )
        )
        if known is not None and known.state != WAITING:
            return known.event_id
        self.waiting = True
        sent = await self.deliver_room(room_id)
        return sent.get(txn)

    async def record_sent(
        self, room_id: str, txn: str, event_id: str, subjects: Iterable[str]
    ) -> None:
        """A reply sent straight away that names people: kept as sent (without its
        words), so erasure finds it."""
        now = self.runtime.clock.now()
        await self._keep(
            OutboxMessage(
                bot=self.bot,
                room_id=room_id,
                txn=txn,
                readers=None,
                subjects=sorted(set(subjects)),
                content={},
                state=SENT,
                created_at=now,
                sent_at=now,
                event_id=event_id,
            )
        )

    async def _keep(self, row: OutboxMessage) -> OutboxMessage | None:
        """Store ``row`` unless a row with its transaction ID is there; answers that one.

        The same message posted twice (a retry, a restart, two tasks at once) is one row.
        """
        try:
            async with self.runtime.db.session() as session:
                known = await session.scalar(
                    select(OutboxMessage).where(
                        OutboxMessage.bot == self.bot, OutboxMessage.txn == row.txn
                    )
                )
                if known is None:
                    session.add(row)
                return known
        except IntegrityError:
            return None  # stored at the same moment by another task

    async def cancel(self, refs: Iterable[str]) -> int:
        """Messages still waiting that are no use any more (a lapsed proposal)."""
        refs = list(refs)
        if not refs:
            return 0
        async with self.runtime.db.session() as session:
            result = await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.bot == self.bot,
                    OutboxMessage.state == WAITING,
                    OutboxMessage.ref.in_(refs),
                )
                .values(state=CANCELLED)
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def ref_of(self, event_id: str) -> str | None:
        """What a message this bot sent was part of (a 👍 on a repeated question)."""
        async with self.runtime.db.session() as session:
            return await session.scalar(
                select(OutboxMessage.ref).where(
                    OutboxMessage.bot == self.bot, OutboxMessage.event_id == event_id
                )
            )

    # Delivering ----------------------------------------------------------------------

    async def deliver_all(self) -> None:
        """The worker's step: every room with something waiting, a few side by side."""
        now = self.runtime.clock.now()
        async with self.runtime.db.session() as session:
            await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.bot == self.bot,
                    OutboxMessage.state == WAITING,
                    OutboxMessage.expires_at < now,
                )
                .values(state=CANCELLED)
            )
            waiting = (
                await session.execute(
                    select(OutboxMessage.room_id, OutboxMessage.readers).where(
                        OutboxMessage.bot == self.bot, OutboxMessage.state == WAITING
                    )
                )
            ).all()
        self.waiting = bool(waiting)
        if not waiting:
            return
        rooms = list(dict.fromkeys(room_id for room_id, _ in waiting))
        # One look-up for everyone still without a device, before the rooms.
        await self._look_up({r for _, readers in waiting for r in readers or ()})
        gate = asyncio.Semaphore(PARALLEL_ROOMS)

        async def one(room_id: str) -> None:
            async with gate:
                try:
                    await self.deliver_room(room_id)
                except Exception:
                    log.exception("delivery failed", extra={"bot": self.bot, "room_id": room_id})

        await asyncio.gather(*(one(room_id) for room_id in rooms))

    async def deliver_room(self, room_id: str) -> dict[str, str]:
        """Send a room's waiting messages in order, while they are readable."""
        sent: dict[str, str] = {}
        lock = self._room_locks.setdefault(room_id, asyncio.Lock())
        async with lock:
            async with self.runtime.db.session() as session:
                rows = (
                    await session.scalars(
                        select(OutboxMessage)
                        .where(
                            OutboxMessage.bot == self.bot,
                            OutboxMessage.room_id == room_id,
                            OutboxMessage.state == WAITING,
                        )
                        .order_by(OutboxMessage.id)
                    )
                ).all()
            now = self.runtime.clock.now()
            for row in rows:
                if row.expires_at is not None and row.expires_at < now:
                    await self._settle(row, CANCELLED, None)
                    continue
                if not await self.readable(room_id, row.readers):
                    break
                event_id = await self.runtime.send_content(
                    room_id, row.content, txn=row.txn, recorded=True
                )
                if event_id is None:
                    break  # Synapse said no: the worker tries again
                await self._settle(row, SENT, event_id)
                metrics.OUTBOX_WAITED.labels(self.bot).observe(
                    max(0.0, (self.runtime.clock.now() - row.created_at).total_seconds())
                )
                sent[row.txn] = event_id
        return sent

    async def _settle(self, row: OutboxMessage, state: str, event_id: str | None) -> None:
        async with self.runtime.db.session() as session:
            stored = await session.get(OutboxMessage, row.id)
            if stored is None or stored.state != WAITING:
                return
            stored.state, stored.event_id = state, event_id
            # Sent or given up, its words are not kept: the room has them, for the
            # people in it. Whom it named is kept, for erasure.
            stored.content = {}
            if event_id is not None:
                stored.sent_at = self.runtime.clock.now()
                kind = (row.ref or "").split(":", 1)[0]
                if kind in self._on_sent:
                    await self._on_sent[kind](session, row.ref or "", event_id)

    # Who can read ----------------------------------------------------------------------

    async def readable(self, room_id: str, readers: list[str] | None) -> bool:
        """Whether a message for ``readers`` in this room would reach a device now.

        The room and its members must be in the bot's sync (a key is shared with the
        members nio knows), and each reader (or, for null, anyone but the bots) must
        have a device. Their devices are looked up again just before: someone who
        signed in a moment ago, before the bot's sync told of it, gets the key too.
        """
        client = self.runtime.client
        assert client is not None
        room = client.rooms.get(room_id)
        if room is None:
            return False
        people = (
            {u for u in room.users if u not in self.runtime.bot_ids}
            if readers is None
            else set(readers)
        )
        if not people <= set(room.users):
            return False
        await self._look_up(people)
        if readers is None:
            return any(self._has_device(u) for u in people)
        return all(self._has_device(u) for u in people)

    def _has_device(self, user_id: str) -> bool:
        client = self.runtime.client
        assert client is not None
        return any(True for _ in client.device_store.active_user_devices(user_id))

    async def _look_up(self, users: set[str]) -> None:
        """Ask Synapse for these people's devices, unless asked just now: within
        ``FRESH`` for someone with a device, ``LOOKUP_EVERY`` for someone without one
        (the wake-up a device in sync gives makes up for the wait)."""
        client = self.runtime.client
        assert client is not None and client.olm is not None
        now = asyncio.get_running_loop().time()
        due = {
            u
            for u in users
            if now - self._looked_up.get(u, -math.inf)
            >= (FRESH if self._has_device(u) else LOOKUP_EVERY)
        }
        if not due:
            return
        for user in due:
            self._looked_up[user] = now
        client.olm.add_changed_users(due)
        await self.runtime.query_keys()

    async def look_up(self, users: Iterable[str]) -> None:
        """Look up many people's devices in one request, before a burst of messages to
        them (each room's check then finds them fresh)."""
        await self._look_up(set(users))

    async def prepare(self, room_ids: Iterable[str]) -> None:
        """Share each room's key with its members' current devices ahead of a message
        due there soon, so the send itself is only encrypt-and-post."""
        client = self.runtime.client
        assert client is not None and client.olm is not None
        rooms = [client.rooms[r] for r in room_ids if r in client.rooms]
        await self._look_up({u for room in rooms for u in room.users} - self.runtime.bot_ids)
        gate = asyncio.Semaphore(PARALLEL_ROOMS)

        async def one(room_id: str) -> None:
            async with gate:
                if room_id in client.sharing_session:
                    return
                if not client.olm.should_share_group_session(room_id):
                    return
                try:
                    await client.share_group_session(room_id, ignore_unverified_devices=True)
                except Exception:
                    log.warning("key not shared ahead", extra={"bot": self.bot, "room_id": room_id})

        await asyncio.gather(*(one(room.room_id) for room in rooms if room.encrypted))

    def forget_lookups(self, users: Iterable[str]) -> None:
        """These people's devices changed: look them up at the next chance."""
        for user in users:
            self._looked_up.pop(user, None)
