"""The one nio client lifecycle both bots use.

Log in once and keep the access token and device ID in the data folder; restore
that login at every start (never a new device, never a logout at shutdown); keep
the E2EE store in the data folder; first sync with full state whose history is not
acted on; store ``next_batch`` only after a batch is handled; never act on an event
twice; auto-join direct invites; answer visibly when a message cannot be
decrypted; ride out Synapse being down with exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import nio
from sqlalchemy import String, cast, delete, or_, select, update

from bots.common import metrics
from bots.common.commands import CommandTable, Invocation, Permission, Where
from bots.common.messages import Messages
from bots.common.outbox import WORKER as OUTBOX_WORKER
from bots.common.outbox import Outbox
from bots.common.permissions import is_coordinator
from connec.clock import Clock, SystemClock
from connec.db import Database
from connec.federation import is_own
from connec.i18n import normalise_language
from connec.models import (
    BotSyncState,
    DeploymentFact,
    DirectRoom,
    HandledEvent,
    OutboxMessage,
    Person,
    SeenDevice,
)
from connec.provision import FACT_COORDINATORS_ROOM, BotCredentials, credentials_path
from connec.secrets import load_secrets
from connec.settings import Settings
from connec.synapse_admin import SynapseAdmin, SynapseError

log = logging.getLogger(__name__)

# Visit rooms the matchmaker makes at once when many are due together (a matching
# round's yeses). Synapse persists the events of requests in flight
# together, so more at once is faster, not only more parallel: 100 visit rooms took
# 39 s with 8 at once and 23 s with 32 (`connec bench scheduler --real 100`). The
# bots are exempt from Synapse's rate limits; the number bounds the burst.
MAKING_AT_ONCE = 32

SYNC_TIMEOUT_MS = 30_000
# The state event a direct room the bot makes carries: the token promised for it.
DIRECT_MARKER = "io.connec.direct"
# Events this much older than the bot's first sync are history, not requests.
CLOCK_SKEW = timedelta(seconds=5)
HANDLED_KEPT = timedelta(days=30)
SEND_ATTEMPTS = 3
"""A send is tried again when nio loses the room's key while sharing it (see room_send)."""


def txn_id(*parts: str) -> str:
    """A deterministic Matrix transaction ID, so a resend after a crash is deduplicated."""
    return "connec-" + hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


@dataclass
class MessageContext:
    """One message a bot is acting on, with what it needs to answer."""

    runtime: BotRuntime
    room: nio.MatrixRoom
    event: nio.Event
    sender: str
    body: str
    where: Where
    lang: str
    invocation: Invocation | None = None
    _replies: int = field(default=0)

    @property
    def args(self) -> str:
        return self.invocation.args if self.invocation else ""

    async def reply(
        self, template: str, *, mentions: list[str] | None = None, **values: Any
    ) -> str | None:
        """Answer in the same room, in the person's language; safe to repeat after a crash."""
        self._replies += 1
        return await self.runtime.send(
            self.room.room_id,
            template,
            self.lang,
            txn=txn_id(self.event.event_id, str(self._replies)),
            mentions=mentions,
            **values,
        )


class Bot:
    """What differs between bots. Subclasses set ``name``, ``commands``, ``messages``."""

    name: str
    commands: CommandTable
    messages: Messages

    async def should_join(
        self, runtime: BotRuntime, room_id: str, inviter: str, direct: bool
    ) -> bool:
        return direct or room_id == runtime.coordinators_room_id

    async def greet(self, runtime: BotRuntime, room_id: str, person: str, lang: str) -> None:
        await runtime.send(room_id, "greeting.html", lang, txn=txn_id("greet", room_id))

    async def on_text(self, ctx: MessageContext) -> None:
        """Words that are not a command. By default: a gentle pointer to help, in direct rooms."""
        if ctx.where is Where.DIRECT:
            await ctx.reply("not_understood.html", help_word=self.help_word(ctx.lang))

    async def on_reaction(
        self, runtime: BotRuntime, room: nio.MatrixRoom, event: nio.ReactionEvent
    ) -> None:
        """Reactions (e.g. ✅ to confirm); nothing by default."""

    async def on_member(
        self, runtime: BotRuntime, room: nio.MatrixRoom, event: nio.RoomMemberEvent
    ) -> None:
        """Someone joined, left or was invited (after the bot's own join); nothing by default."""

    async def on_direct_room_opened(self, runtime: BotRuntime, room_id: str, person: str) -> None:
        """The bot opened a direct room with someone; its first words go here."""

    async def on_new_device(self, runtime: BotRuntime, person: str, device_ids: list[str]) -> None:
        """Someone signed in on a device beside those seen before. Its keys cannot open
        older messages: ask again, on it, whatever still waits for their answer."""

    async def on_start(self, runtime: BotRuntime) -> None:
        """After login and the first sync: resume unfinished work, start timers."""

    async def on_stop(self, runtime: BotRuntime) -> None:
        """Before the client closes: stop timers."""

    def help_word(self, lang: str) -> str:
        found = self.commands.find("help")
        return found[0].name(lang) if found else "help"


class BotRuntime:
    """Runs one bot against Synapse until stopped."""

    def __init__(self, settings: Settings, bot: Bot, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.bot = bot
        self.clock = clock or SystemClock()
        self.bot_settings = getattr(settings, bot.name)
        self.user_id = settings.user_id(self.bot_settings.localpart)
        self.bot_ids = frozenset(
            {
                settings.user_id(settings.matchmaker.localpart),
                settings.user_id(settings.scheduler.localpart),
            }
        )
        self.folder = settings.paths.bot(bot.name)
        self.db = Database(settings.db_url)
        self.ready = asyncio.Event()
        self.coordinators_room_id: str | None = None
        self.client: nio.AsyncClient | None = None
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._wakers: dict[str, Callable[..., None]] = {}
        self._direct_locks: dict[str, asyncio.Lock] = {}
        self._handling = False
        self._ignore_before: datetime | None = None
        self._keys_lock = asyncio.Lock()
        self.outbox = Outbox(self)

    # Lifecycle ---------------------------------------------------------------

    async def run(self) -> None:
        """Log in (or restore the login), sync until :meth:`stop`, then close without logout."""
        try:
            self.client = await self._login()
            await self._load_facts()
            await self._first_sync()
            await self._ensure_cross_signed()
            self.spawn_worker(OUTBOX_WORKER, self.outbox.deliver_all, every_s=30)
            await self.bot.on_start(self)
            self.ready.set()
            metrics.READY.labels(self.bot.name).set(1)
            log.info("ready", extra={"bot": self.bot.name, "user_id": self.user_id})
            await self._sync_forever()
        finally:
            metrics.READY.labels(self.bot.name).set(0)
            if self.ready.is_set():
                await self.bot.on_stop(self)
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            if self.client is not None:
                await self.client.close()
            await self.db.close()

    def stop(self) -> None:
        self._stopping.set()

    async def _login(self) -> nio.AsyncClient:
        from bots.common.store_key import lock_with_own_key

        path = credentials_path(self.settings, self.bot.name)
        store = self.folder / "store"
        # The store holds the keys to every room the bot is in: connec's user alone.
        for folder in (self.folder.parent, self.folder, store):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            folder.chmod(0o700)
        secrets = load_secrets(self.settings.paths.secrets)
        key = secrets.store_key(self.bot.name)
        config = nio.AsyncClientConfig(
            encryption_enabled=True,
            store_sync_tokens=False,
            # Locked with the bot's own key, never nio's default that everyone knows.
            pickle_key=key,
            # Honour M_LIMIT_EXCEEDED's retry_after_ms, a bounded number of times.
            max_limit_exceeded=5,
            # Keep retrying while Synapse is down, backing off up to 10 s.
            max_timeouts=None,
            backoff_factor=0.5,
            max_timeout_retry_wait_time=10,
        )
        creds = BotCredentials.load(path)
        # A store made before secrets held a key for it is moved onto the key, keeping
        # the bot's device and its sessions (bots.common.store_key).
        done = await asyncio.to_thread(
            lock_with_own_key,
            store,
            creds.user_id if creds else self.user_id,
            creds.device_id if creds else "",
            key,
            self.bot.name,
        )
        if done == "moved":
            log.info("store locked with its own key", extra={"bot": self.bot.name})
        client = nio.AsyncClient(
            self.settings.synapse.url,
            self.user_id,
            device_id=creds.device_id if creds else None,
            store_path=str(store),
            config=config,
        )
        if creds is None:
            password = secrets.bot_password(self.bot.name)
            response = await client.login(password, device_name=f"connec {self.bot.name}")
            if not isinstance(response, nio.LoginResponse):
                raise RuntimeError(f"{self.bot.name} could not log in: {response}")
            creds = BotCredentials(response.user_id, response.device_id, response.access_token)
            creds.save(path)
        else:
            client.restore_login(creds.user_id, creds.device_id, creds.access_token)
        for file in store.iterdir():
            file.chmod(0o600)
        if client.should_upload_keys:
            await client.keys_upload()
        return client

    async def _load_facts(self) -> None:
        async with self.db.session() as session:
            fact = await session.get(DeploymentFact, FACT_COORDINATORS_ROOM)
            self.coordinators_room_id = fact.value if fact else None
            # Past the saved sync position nothing old comes back; a month of handled
            # events is plenty to guard against a batch seen twice.
            await session.execute(
                delete(HandledEvent).where(
                    HandledEvent.bot == self.bot.name,
                    HandledEvent.handled_at < self.clock.now() - HANDLED_KEPT,
                )
            )
            # A message sent long ago that named nobody need not be remembered; one that
            # named someone is kept (without its words) until they are erased.
            await session.execute(
                delete(OutboxMessage).where(
                    OutboxMessage.bot == self.bot.name,
                    OutboxMessage.state != "waiting",
                    OutboxMessage.created_at < self.clock.now() - HANDLED_KEPT,
                    cast(OutboxMessage.subjects, String) == "[]",
                )
            )

    async def _ensure_cross_signed(self) -> None:
        from bots.common.cross_signing import ensure_cross_signed

        assert self.client is not None
        password = load_secrets(self.settings.paths.secrets).bot_password(self.bot.name)
        try:
            await ensure_cross_signed(
                self.client, password=password, keys_path=self.folder / "cross-signing.json"
            )
        except Exception:
            # People can still talk to the bot in unencrypted direct rooms; say it loudly.
            log.exception("cross-signing failed", extra={"bot": self.bot.name})

    async def _first_sync(self) -> None:
        """Restore the sync position, or take a first full-state sync whose history is skipped."""
        assert self.client is not None
        async with self.db.session() as session:
            state = await session.get(BotSyncState, self.bot.name)
            if state is not None:
                self._ignore_before = state.joined_at - CLOCK_SKEW
        if state is not None:
            # Room state is not stored by nio here; one full-state sync from the saved
            # position rebuilds it, and its timeline is handled as usual. The position
            # is passed as ``since``, not set on the client: nio skips a whole sync
            # response whose next_batch equals its own (nothing new since the stop).
            await self._sync_once(full_state=True, since=state.next_batch)
            return
        response = await self._sync(since=None, full_state=True, wait_ms=0)
        now = self.clock.now()
        self._ignore_before = now - CLOCK_SKEW
        await self._maintain_keys()
        await self._handle_invites(response)
        async with self.db.session() as session:
            session.add(
                BotSyncState(bot=self.bot.name, next_batch=response.next_batch, joined_at=now)
            )

    async def _sync(self, *, since: str | None, full_state: bool, wait_ms: int) -> nio.SyncResponse:
        assert self.client is not None
        delay = 0.5
        while True:
            response = await self.client.sync(timeout=wait_ms, since=since, full_state=full_state)
            if isinstance(response, nio.SyncResponse):
                return response
            metrics.SYNC_ERRORS.labels(self.bot.name).inc()
            log.warning(
                "sync failed", extra={"bot": self.bot.name, "error": str(response), "delay": delay}
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 15)

    async def _sync_forever(self) -> None:
        while not self._stopping.is_set():
            sync = asyncio.ensure_future(self._sync_once(full_state=False))
            stop = asyncio.ensure_future(self._stopping.wait())
            try:
                done, _ = await asyncio.wait({sync, stop}, return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:
                # Killed: nothing of this loop may live on beside a restarted bot.
                sync.cancel()
                stop.cancel()
                raise
            if sync in done:
                stop.cancel()
                sync.result()
                continue
            if self._handling:
                # A batch is being handled: finish it, so its position is saved.
                await sync
                continue
            # Stopping during the long-poll: its batch was never handled, so
            # next_batch still points before it.
            sync.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sync

    async def _sync_once(self, *, full_state: bool, since: str | None = None) -> None:
        assert self.client is not None
        response = await self._sync(
            since=since or self.client.next_batch,
            full_state=full_state,
            wait_ms=0 if full_state else SYNC_TIMEOUT_MS,
        )
        self._handling = True
        try:
            await self._handle_batch(response)
        finally:
            self._handling = False

    async def _handle_batch(self, response: nio.SyncResponse) -> None:
        await self._maintain_keys()
        await self._handle_invites(response)
        await self._handle_timelines(response)
        await self._greet_waiting()
        async with self.db.session() as session:
            state = await session.get(BotSyncState, self.bot.name)
            assert state is not None
            state.next_batch = response.next_batch
        if self.outbox.waiting:
            # The batch may have brought what a waiting message needed: its room,
            # its reader's invite or join.
            self.wake(OUTBOX_WORKER)
        metrics.SYNCS.labels(self.bot.name).inc()
        metrics.LAST_SYNC.labels(self.bot.name).set_to_current_time()

    async def _maintain_keys(self) -> None:
        """What nio's sync_forever does between syncs, for encrypted rooms to work."""
        assert self.client is not None
        client = self.client
        await client.send_to_device_messages()
        if client.should_upload_keys:
            await client.keys_upload()
        await self.query_keys()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())

    async def query_keys(self) -> None:
        """Learn the devices of the people nio marked (a change in sync, a new member,
        someone a waiting message is for), and act on devices new to this bot."""
        assert self.client is not None
        async with self._keys_lock:
            if not self.client.should_query_keys:
                return
            response = await self.client.keys_query()
        if isinstance(response, nio.KeysQueryResponse) and response.changed:
            await self._devices_changed(set(response.changed))

    async def _devices_changed(self, users: set[str]) -> None:
        """A person's first devices let what waited for them go out; a device beside
        those seen before gets their open questions again."""
        assert self.client is not None
        current = {
            user: {d.id for d in self.client.device_store.active_user_devices(user)}
            for user in users - self.bot_ids
        }
        current = {user: devices for user, devices in current.items() if devices}
        if not current:
            return
        now = self.clock.now()
        first: set[str] = set()
        added: dict[str, list[str]] = {}
        async with self.db.session() as session:
            seen: dict[str, set[str]] = {}
            for user, device in (
                await session.execute(
                    select(SeenDevice.matrix_id, SeenDevice.device_id).where(
                        SeenDevice.bot == self.bot.name, SeenDevice.matrix_id.in_(current)
                    )
                )
            ).all():
                seen.setdefault(user, set()).add(device)
            for user, devices in current.items():
                new = devices - seen.get(user, set())
                if not new:
                    continue
                if user in seen:
                    added[user] = sorted(new)
                else:
                    first.add(user)
                    session.add_all(
                        SeenDevice(bot=self.bot.name, matrix_id=user, device_id=d, seen_at=now)
                        for d in new
                    )
        if first:
            self.outbox.forget_lookups(first)
            self.wake(OUTBOX_WORKER)
        for user, device_ids in added.items():
            log.info("new device", extra={"bot": self.bot.name, "user_id": user})
            self.spawn(self._welcome_device(user, device_ids), "new device")

    async def _welcome_device(self, user: str, devices: list[str]) -> None:
        """Ask again on a new device, then remember it (a crash in between asks again,
        with the same transaction IDs)."""
        await self.bot.on_new_device(self, user, devices)
        async with self.db.session() as session:
            for device in devices:
                await session.merge(
                    SeenDevice(
                        bot=self.bot.name,
                        matrix_id=user,
                        device_id=device,
                        seen_at=self.clock.now(),
                    )
                )

    # Handling a batch ----------------------------------------------------------

    async def _handle_invites(self, response: nio.SyncResponse) -> None:
        assert self.client is not None
        for room_id, info in response.rooms.invite.items():
            inviter, direct = "", False
            for event in info.invite_state:
                if isinstance(event, nio.InviteMemberEvent) and event.state_key == self.user_id:
                    inviter = event.sender
                    direct = bool(event.content.get("is_direct"))
            if not await self.bot.should_join(self, room_id, inviter, direct):
                log.info("invite declined", extra={"bot": self.bot.name, "room_id": room_id})
                await self.client.room_leave(room_id)
                continue
            joined = await self.client.join(room_id)
            if not isinstance(joined, nio.JoinResponse):
                log.warning(
                    "join failed",
                    extra={"bot": self.bot.name, "room_id": room_id, "error": str(joined)},
                )
                continue
            if direct:
                await self._open_direct_room(room_id, inviter)

    async def _open_direct_room(self, room_id: str, person: str) -> None:
        """Remember the direct room; the greeting follows once the room has synced.

        A room the person opened wins over one the bot is making for them at the same
        moment (see :meth:`_ensure_direct_room`): one statement, so neither write is
        lost to the other."""
        async with self.db.session() as session:
            moved = await session.execute(
                update(DirectRoom)
                .where(
                    DirectRoom.bot == self.bot.name,
                    DirectRoom.matrix_id == person,
                    or_(DirectRoom.room_id.is_(None), DirectRoom.room_id != room_id),
                )
                # A person who opens a new direct room is answered in the new one.
                .values(room_id=room_id, greeted_at=None)
            )
            if moved.rowcount == 0:  # type: ignore[attr-defined]
                known = await session.scalar(
                    select(DirectRoom.id).where(
                        DirectRoom.bot == self.bot.name, DirectRoom.matrix_id == person
                    )
                )
                if known is None:
                    session.add(DirectRoom(bot=self.bot.name, matrix_id=person, room_id=room_id))

    async def _greet_waiting(self) -> None:
        """Greet people whose direct room is joined and synced but not yet greeted."""
        assert self.client is not None
        async with self.db.session() as session:
            waiting = (
                await session.scalars(
                    select(DirectRoom).where(
                        DirectRoom.bot == self.bot.name, DirectRoom.greeted_at.is_(None)
                    )
                )
            ).all()
        for row in waiting:
            if row.room_id is None or row.room_id not in self.client.rooms:
                continue  # only promised (being made), or not synced yet
            lang = await self.language_of(row.matrix_id)
            await self.bot.greet(self, row.room_id, row.matrix_id, lang)
            async with self.db.session() as session:
                greeted = await session.get(DirectRoom, row.id)
                if greeted is not None:
                    greeted.greeted_at = self.clock.now()

    async def _handle_timelines(self, response: nio.SyncResponse) -> None:
        assert self.client is not None
        for room_id, info in response.rooms.join.items():
            room = self.client.rooms.get(room_id)
            if room is None:
                continue
            events = list(info.timeline.events)
            # Anything before our own join in this timeline is history.
            for index, event in enumerate(events):
                if (
                    isinstance(event, nio.RoomMemberEvent)
                    and event.state_key == self.user_id
                    and event.membership == "join"
                    and event.prev_membership != "join"
                ):
                    events = events[index + 1 :]
                    break
            for event in events:
                await self._handle_event(room, event)

    def _is_history(self, event: nio.Event) -> bool:
        if self._ignore_before is None:
            return False
        sent = datetime.fromtimestamp(event.server_timestamp / 1000, tz=self._ignore_before.tzinfo)
        return sent < self._ignore_before

    async def _handle_event(self, room: nio.MatrixRoom, event: nio.Event) -> None:
        if event.sender == self.user_id or self._is_history(event):
            return
        kind = _kind(event)
        if kind is None or await self._already_handled(event.event_id):
            return
        try:
            if kind == "undecryptable":
                await self._answer_undecryptable(room, event)
            elif kind == "reaction":
                await self.bot.on_reaction(self, room, event)
            elif kind == "member":
                await self.bot.on_member(self, room, event)
            else:
                await self._handle_text(room, event)
        except Exception:
            log.exception(
                "handling failed",
                extra={"bot": self.bot.name, "room_id": room.room_id, "event_id": event.event_id},
            )
        async with self.db.session() as session:
            # merge: a row already there (a batch seen twice) is no error.
            await session.merge(
                HandledEvent(bot=self.bot.name, event_id=event.event_id, room_id=room.room_id)
            )
        metrics.MESSAGES.labels(self.bot.name, kind).inc()

    async def _already_handled(self, event_id: str) -> bool:
        async with self.db.session() as session:
            return await session.get(HandledEvent, (self.bot.name, event_id)) is not None

    async def _answer_undecryptable(self, room: nio.MatrixRoom, event: nio.MegolmEvent) -> None:
        assert self.client is not None
        lang = await self.language_of(event.sender)
        await self.send(
            room.room_id, "undecryptable.html", lang, txn=txn_id(event.event_id, "undecryptable")
        )
        # A request for this session may already be out; that is fine.
        with contextlib.suppress(nio.LocalProtocolError):
            await self.client.request_room_key(event)

    async def _handle_text(self, room: nio.MatrixRoom, event: nio.RoomMessageText) -> None:
        where = await self.room_kind(room)
        invocation = self.bot.commands.parse(event.body, direct=where is Where.DIRECT, where=where)
        lang = await self.language_of(event.sender)
        if invocation is not None and invocation.lang:
            lang = invocation.lang
        ctx = MessageContext(self, room, event, event.sender, event.body, where, lang, invocation)
        if invocation is None:
            await self.bot.on_text(ctx)
        elif invocation.command is None:
            # Visit rooms and the coordinators' room hold both bots, each knowing only
            # its own commands: there one bot answers a word neither knows, so it is
            # answered once (commands.SHARED_ROOMS).
            if not self.bot.commands.answers(invocation, where):
                pass
            elif invocation.nearest is None and where is Where.DIRECT:
                await self.reply_help(ctx, unknown=invocation.word)
            else:
                await ctx.reply(
                    "unknown_command.html",
                    word=invocation.word,
                    nearest=invocation.nearest,
                    args=invocation.args,
                    help_word=self.bot.help_word(ctx.lang),
                )
        else:
            await self._run_command(ctx)

    async def _run_command(self, ctx: MessageContext) -> None:
        assert ctx.invocation is not None and ctx.invocation.command is not None
        command = ctx.invocation.command
        if command.permission is Permission.COORDINATOR and not self.is_coordinator(
            ctx.sender, ctx.room
        ):
            log.info(
                "refused",
                extra={"bot": self.bot.name, "command": command.key, "user_id": ctx.sender},
            )
            await ctx.reply("refused.html", command=command.name(ctx.lang))
            return
        if not command.where & ctx.where:
            await ctx.reply("wrong_room.html", command=command.name(ctx.lang))
            return
        log.info(
            "command",
            extra={"bot": self.bot.name, "command": command.key, "room_id": ctx.room.room_id},
        )
        await command.handler(ctx)

    async def reply_help(self, ctx: MessageContext, unknown: str | None = None) -> None:
        """Help generated from the command table, for this room and this person."""
        coordinator = self.is_coordinator(ctx.sender, ctx.room)
        commands = self.bot.commands.visible(ctx.where, coordinator)
        messages = self.bot.messages
        lines = [
            {
                "name": c.name(ctx.lang),
                "args": messages.gettext(ctx.lang, c.args) if c.args else "",
                "help": messages.gettext(ctx.lang, c.help),
            }
            for c in commands
        ]
        await ctx.reply(
            "help.html", commands=lines, unknown=unknown, prefix_optional=ctx.where is Where.DIRECT
        )

    # Helpers for bots ----------------------------------------------------------

    async def context_for(self, room: nio.MatrixRoom, event: nio.Event) -> MessageContext:
        """A context for answering an event that is not a text message (a reaction),
        with the same deterministic replies as a message gets."""
        return MessageContext(
            self,
            room,
            event,
            event.sender,
            "",
            await self.room_kind(room),
            await self.language_of(event.sender),
        )

    def is_coordinator(self, user_id: str, room: nio.MatrixRoom) -> bool:
        if room.room_id != self.coordinators_room_id:
            return False
        levels = room.power_levels
        power = {"users": dict(levels.users), "users_default": levels.defaults.users_default}
        # The coordinator made the coordinators' room at init; from room version 12
        # the creator outranks every power level and is not listed in it.
        create = {
            "sender": self.settings.user_id(self.settings.coordinator_localpart),
            "content": {"room_version": room.room_version},
        }
        return is_coordinator(user_id, room.room_id, self.coordinators_room_id, power, create)

    async def room_kind(self, room: nio.MatrixRoom) -> Where:
        if room.room_id == self.coordinators_room_id:
            return Where.COORDINATORS_ROOM
        async with self.db.session() as session:
            direct = await session.scalar(
                select(DirectRoom.id).where(
                    DirectRoom.bot == self.bot.name, DirectRoom.room_id == room.room_id
                )
            )
        if direct is not None or room.member_count <= 2:
            return Where.DIRECT
        return Where.VISIT_ROOM

    async def language_of(self, user_id: str) -> str:
        async with self.db.session() as session:
            language = await session.scalar(
                select(Person.language).where(Person.matrix_id == user_id)
            )
        return normalise_language(language or self.settings.language)

    async def ensure_direct_room(self, matrix_id: str) -> str:
        """The private, encrypted room between this bot and a person; made once.

        Only for background tasks (see :meth:`wait_for_room`).
        """
        # Two tasks writing to the same new person at once must share one room.
        lock = self._direct_locks.setdefault(matrix_id, asyncio.Lock())
        async with lock:
            return await self._ensure_direct_room(matrix_id)

    async def _ensure_direct_room(self, matrix_id: str) -> str:
        # Promised, made, welcomed, stored: the row's token is stored before the room
        # exists and the room carries it, so a crash anywhere between finds the same
        # room again (and the welcome's transaction ID keeps it one welcome).
        assert self.client is not None
        remote = not is_own(matrix_id, self.settings.synapse)
        made: str | None = None
        async with self.db.session() as session:
            known = await session.scalar(
                select(DirectRoom).where(
                    DirectRoom.bot == self.bot.name, DirectRoom.matrix_id == matrix_id
                )
            )
            if known is not None and known.room_id is not None:
                made = known.room_id
            elif known is None or known.room_txn is None:
                token = secrets.token_hex(12)
                if known is None:
                    session.add(DirectRoom(bot=self.bot.name, matrix_id=matrix_id, room_txn=token))
                else:
                    known.room_txn = token
                room_id = None
            else:
                token = known.room_txn
                room_id = await self.find_marked_room(DIRECT_MARKER, token, near=matrix_id)
        if made is not None:
            # Outside the transaction: another server may take its time to answer.
            if remote:
                await self._invite_to_direct_room(made, matrix_id)
            return made
        if room_id is None:
            room_id = await self._create_direct_room(matrix_id, token, remote=remote)
        theirs = await self._opened_by_them(matrix_id, room_id)
        if theirs is not None:
            # They opened a room with the bot while this one was being made: theirs is
            # the one they are looking at, and it is greeted (the sync loop does that).
            await self._leave_direct_room(room_id)
            return theirs
        # Someone on another server is invited after the room is made: were their
        # server down, the room would be made and the request still fail, and every
        # try would leave one more room behind. So the room is kept first and the
        # invitation tried again until it reaches them.
        if remote:
            await self._invite_to_direct_room(room_id, matrix_id)
        # What the bot says first waits in the outbox until the person can read it.
        await self.bot.on_direct_room_opened(self, room_id, matrix_id)
        async with self.db.session() as session:
            # Greeted now: the bot wrote first, with what it came to say. One statement:
            # a room they opened meanwhile stays theirs, still to be greeted there; an
            # erased person has no row to keep it in.
            await session.execute(
                update(DirectRoom)
                .where(
                    DirectRoom.bot == self.bot.name,
                    DirectRoom.matrix_id == matrix_id,
                    or_(DirectRoom.room_id.is_(None), DirectRoom.room_id == room_id),
                )
                .values(room_id=room_id, greeted_at=self.clock.now())
            )
        return room_id

    async def _opened_by_them(self, matrix_id: str, made: str) -> str | None:
        """The direct room the person opened themselves while ``made`` was being made."""
        async with self.db.session() as session:
            stored = await session.scalar(
                select(DirectRoom.room_id).where(
                    DirectRoom.bot == self.bot.name, DirectRoom.matrix_id == matrix_id
                )
            )
        return stored if stored not in (None, made) else None

    async def _leave_direct_room(self, room_id: str) -> None:
        """Leave a room made for someone who opened one with the bot meanwhile. Their
        invitation cannot be taken back (in a trusted private chat they rank as the
        bot does), so it is left with nobody in it rather than answered in two."""
        assert self.client is not None
        answer = await self.client.room_leave(room_id)
        if isinstance(answer, nio.ErrorResponse):
            log.warning(
                "second direct room not left",
                extra={"bot": self.bot.name, "room_id": room_id, "error": str(answer)},
            )
            return
        log.info("second direct room left", extra={"bot": self.bot.name, "room_id": room_id})

    async def _create_direct_room(self, matrix_id: str, token: str, *, remote: bool) -> str:
        assert self.client is not None
        response = await self.client.room_create(
            is_direct=True,
            invite=[] if remote else [matrix_id],
            preset=nio.RoomPreset.trusted_private_chat,
            initial_state=[
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                },
                {"type": DIRECT_MARKER, "state_key": "", "content": {"token": token}},
            ],
        )
        if not isinstance(response, nio.RoomCreateResponse):
            if getattr(response, "status_code", None) == "M_LIMIT_EXCEEDED":
                # Refused, so certainly not made: the next try needs no search for it.
                async with self.db.session() as session:
                    row = await session.scalar(
                        select(DirectRoom).where(
                            DirectRoom.bot == self.bot.name, DirectRoom.matrix_id == matrix_id
                        )
                    )
                    if row is not None and row.room_id is None:
                        row.room_txn = None
            raise RuntimeError(f"could not open a direct room with {matrix_id}: {response}")
        return response.room_id

    async def invite_into_direct_rooms(self) -> None:
        """Invite again the people on other servers who are not in their direct room
        yet (their server was down when it was made); a look at the bot's own sync
        state, and a request only for them."""
        assert self.client is not None
        async with self.db.session() as session:
            rooms = (
                await session.execute(
                    select(DirectRoom.room_id, DirectRoom.matrix_id).where(
                        DirectRoom.bot == self.bot.name,
                        DirectRoom.room_id.is_not(None),
                        DirectRoom.matrix_id.not_like(f"%:{self.settings.synapse.server_name}"),
                    )
                )
            ).all()
        for room_id, matrix_id in rooms:
            room = self.client.rooms.get(room_id) if room_id is not None else None
            if room_id is None or room is None or matrix_id in room.users:
                continue  # only promised (being made), not synced yet, or there
            if not is_own(matrix_id, self.settings.synapse):
                await self._invite_to_direct_room(room_id, matrix_id)

    async def _invite_to_direct_room(self, room_id: str, matrix_id: str) -> None:
        """Invite someone on another server into their direct room, unless they are in
        it or invited already (as the bot's sync tells); when their server cannot be
        reached now, the next message to them tries again (the outbox keeps what
        waits for them meanwhile)."""
        assert self.client is not None
        room = self.client.rooms.get(room_id)
        if room is not None and matrix_id in room.users:
            return
        member = await self.client.room_get_state_event(room_id, "m.room.member", matrix_id)
        if isinstance(member, nio.RoomGetStateEventResponse):
            return  # invited, joined, or left of their own accord: never asked twice
        # As a state event, so the invitation says it is a direct chat (is_direct).
        response = await self.client.room_put_state(
            room_id,
            "m.room.member",
            {"membership": "invite", "is_direct": True},
            state_key=matrix_id,
        )
        if isinstance(response, nio.RoomPutStateError):
            log.warning(
                "could not invite into a direct room yet",
                extra={"bot": self.bot.name, "user_id": matrix_id, "reason": response.message},
            )

    async def find_marked_room(self, marker: str, token: str, *, near: str = "") -> str | None:
        """A room this bot made before a crash, found by the token its ``marker`` state
        event carries (the token was stored before the room was made). Rooms the sync
        already shows with ``near`` in them are looked at first."""
        assert self.client is not None
        async with SynapseAdmin(self.settings.synapse.url) as http:
            joined = await http.request(
                "GET", "/_matrix/client/v3/joined_rooms", token=self.client.access_token
            )
            rooms = self.client.rooms
            candidates = sorted(
                joined.get("joined_rooms", []),
                key=lambda r: not (near and r in rooms and near in rooms[r].users),
            )
            for room_id in candidates:
                with contextlib.suppress(SynapseError):
                    state = await http.request(
                        "GET",
                        f"/_matrix/client/v3/rooms/{quote(room_id)}/state/{marker}/",
                        token=self.client.access_token,
                    )
                    if state.get("token") == token:
                        return str(room_id)
        return None

    async def send_direct(
        self,
        matrix_id: str,
        template: str,
        *,
        txn: str,
        ref: str | None = None,
        subjects: Iterable[str] = (),
        expires_at: datetime | None = None,
        **values: Any,
    ) -> str | None:
        """A private message to a person, in their language, sent when they can read it.

        Answers the event ID when it went out at once; None when it waits for the
        person's first device (see ``outbox.py``).
        """
        room_id = await self.ensure_direct_room(matrix_id)
        return await self.post(
            room_id,
            template,
            await self.language_of(matrix_id),
            txn=txn,
            readers=[matrix_id],
            subjects=[matrix_id, *subjects],
            ref=ref,
            expires_at=expires_at,
            **values,
        )

    async def post(
        self,
        room_id: str,
        template: str,
        lang: str | None,
        *,
        txn: str,
        readers: list[str] | None,
        subjects: Iterable[str] = (),
        ref: str | None = None,
        expires_at: datetime | None = None,
        mentions: list[str] | None = None,
        **values: Any,
    ) -> str | None:
        """A message the bot starts on its own, kept until ``readers`` can read it
        (None: anyone in the room but the bots). Answers the event ID when it went out
        at once."""
        return await self.outbox.post(
            room_id,
            self.render(template, lang, mentions=mentions, **values),
            txn=txn,
            readers=readers,
            subjects=subjects,
            ref=ref,
            expires_at=expires_at,
        )

    async def wait_for_room(self, room_id: str, wait_s: float = 30.0) -> None:
        """Wait until the sync loop knows a room (its members, its encryption).

        Only for background tasks: an event handler that waited here would hold up
        the very sync that brings the room.
        """
        assert self.client is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while room_id not in self.client.rooms:
            if loop.time() > deadline:
                raise TimeoutError(f"room {room_id} did not appear in sync")
            await asyncio.sleep(0.1)

    async def react(self, room_id: str, event_id: str, key: str) -> str | None:
        """Mark an event with a reaction (✅/❌ on a coordinator's command); sent once."""
        assert self.client is not None
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        response = await self.room_send(
            room_id, "m.reaction", content, txn_id("react", event_id, key)
        )
        return response.event_id if isinstance(response, nio.RoomSendResponse) else None

    def spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        """A background task of this bot, cancelled when the bot stops."""
        task = asyncio.ensure_future(coro)
        task.set_name(f"{self.bot.name}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def spawn_worker(self, name: str, step: Callable[[], Awaitable[None]], every_s: float) -> None:
        """A background task that does ``step`` every ``every_s`` seconds, or at once
        when woken with :meth:`wake`. The tables say what is due and the worker acts on
        them, so a crash between two steps loses nothing."""
        wake = asyncio.Event()
        self.on_wake(name, lambda: wake.set())

        async def loop() -> None:
            while True:
                try:
                    await step()
                except Exception:
                    log.exception("worker step failed", extra={"bot": self.bot.name, "part": name})
                # asyncio.timeout, not wait_for: in Python 3.11 wait_for can swallow a
                # cancellation that meets a wake-up, and the worker outlives its bot.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(every_s):
                        await wake.wait()
                wake.clear()

        self.spawn(loop(), name)

    def on_wake(self, name: str, handler: Callable[..., None]) -> None:
        """What waking the job ``name`` does: jobs wake each other by name through the
        runtime, so no job imports another to prod it."""
        self._wakers[name] = handler

    def wake(self, name: str, **request: Any) -> None:
        """Wake a job now rather than at its next tick, with what it is asked to do
        (``runtime.wake(jobs.ROUND, person_ids=[7])``); no-op if it is not running."""
        if name in self._wakers:
            self._wakers[name](**request)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "background task failed", exc_info=task.exception(), extra={"bot": self.bot.name}
            )

    async def send(
        self,
        room_id: str,
        template: str,
        lang: str | None,
        *,
        txn: str,
        mentions: list[str] | None = None,
        **values: Any,
    ) -> str | None:
        """A reply, sent now: a template, in a language, with a deterministic txn ID.

        For answering someone who just wrote (they are there, on a device). What the
        bot starts on its own goes through :meth:`post`.
        """
        return await self.send_content(
            room_id, self.render(template, lang, mentions=mentions, **values), txn=txn
        )

    def render(
        self, template: str, lang: str | None, *, mentions: list[str] | None = None, **values: Any
    ) -> dict[str, Any]:
        """A message's content: the template's HTML and its plain twin."""
        body, markup = self.bot.messages.render(template, lang, **values)
        return {
            "msgtype": "m.text",
            "body": body,
            "format": "org.matrix.custom.html",
            "formatted_body": markup,
            "m.mentions": {"user_ids": mentions or []},
        }

    async def room_send(
        self, room_id: str, event_type: str, content: dict[str, Any], txn: str
    ) -> nio.RoomSendResponse | nio.RoomSendError:
        """nio's send, encrypting for every device of the room's members, with a
        deterministic txn ID; tried again when nio loses the room's key mid-share.

        nio drops a room's outbound session when its members change; a share of that
        session under way then ends in a KeyError (seen when many rooms are made and
        joined at once). Sharing again and sending with the same txn ID sends once.
        """
        assert self.client is not None
        for attempt in range(SEND_ATTEMPTS):
            try:
                return await self.client.room_send(
                    room_id, event_type, content, tx_id=txn, ignore_unverified_devices=True
                )
            except KeyError:
                if attempt == SEND_ATTEMPTS - 1:
                    raise
                log.info("room key changed while shared", extra={"room_id": room_id})
        raise AssertionError("unreachable")

    async def send_content(
        self, room_id: str, content: dict[str, Any], *, txn: str, recorded: bool = False
    ) -> str | None:
        """The one way a message reaches Synapse, with a deterministic txn ID.

        A message that names people (their Matrix IDs, as coordinators' lists and
        mention pills do) is kept in the outbox as sent, without its words, so erasure
        can find every word a bot said about a person; ``recorded``: it is already
        there (it came from the outbox).
        """
        assert self.client is not None
        # Know every member's devices (also the invited) before encrypting for them.
        with contextlib.suppress(nio.LocalProtocolError):
            await self.query_keys()
        response = await self.room_send(room_id, "m.room.message", content, txn)
        if isinstance(response, nio.RoomSendResponse):
            metrics.SENT.labels(self.bot.name).inc()
            named = named_in(content) - self.bot_ids
            if named and not recorded:
                await self.outbox.record_sent(room_id, txn, response.event_id, named)
            return response.event_id
        log.warning(
            "send failed", extra={"bot": self.bot.name, "room_id": room_id, "error": str(response)}
        )
        return None


MATRIX_ID = re.compile(r"@[A-Za-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(?::\d+)?")


def named_in(content: dict[str, Any]) -> set[str]:
    """The Matrix IDs a message names, in its words or its mentions."""
    text = f"{content.get('body', '')} {content.get('formatted_body', '')}"
    mentioned = content.get("m.mentions", {}).get("user_ids", [])
    return set(MATRIX_ID.findall(text)) | set(mentioned)


def _kind(event: nio.Event) -> str | None:
    if isinstance(event, nio.RoomMessageText):
        return "text"
    if isinstance(event, nio.RoomMemberEvent):
        return "member"
    if isinstance(event, nio.MegolmEvent):
        return "undecryptable"
    if isinstance(event, nio.ReactionEvent):
        return "reaction"
    return None
