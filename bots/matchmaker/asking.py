"""Coordinator commands that change something ask first: the one way they do.

A command declared with :func:`asks_first` supplies only what differs: how it finds
what it is about (or says kindly why it cannot, and answers None) and what its
confirmation does (``@command.act``). The shape is here, once:

1. the command is stored as waiting (a ``PendingAction`` row, so a restart keeps it)
   and audited as ``asked``;
2. the bot says what it will do, and offers ✅ and ❌ on the question;
3. the same coordinator answers with "ja"/"yes" or ✅ (a reply or a reaction), or
   "nej"/"no" or ❌, within ``PENDING_LIFETIME``; another coordinator's answer is
   turned away, a late one finds it expired;
4. the action runs, what it did is said, the command gets ✅ (done) or ❌ (not), and
   the outcome is audited (done, cancelled, expired, failed, refused).

Every audit line is ``coordinator.<command>`` with IDs only, never message bodies,
reasons or other personal words. Help, permissions and the room come from the
command's declaration on the bot's command table.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import nio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bots.common.commands import Permission, Where
from bots.common.runtime import BotRuntime, MessageContext, txn_id
from bots.matchmaker import jobs
from bots.matchmaker.coordination import (
    PENDING_LIFETIME,
    Answer,
    answer_of_reaction,
    answer_of_text,
    is_expired,
    may_confirm,
    replied_to,
    strip_reply_fallback,
)
from bots.matchmaker.table import COMMANDS
from connec.models import AuditEntry, PendingAction

log = logging.getLogger(__name__)

HERE = Where.COORDINATORS_ROOM
COORDINATOR = Permission.COORDINATOR
CONFIRM, CANCEL = "✅", "❌"
MINUTES = int(PENDING_LIFETIME.total_seconds() // 60)


@dataclass(frozen=True)
class Asking:
    """What a command will do, as found: shown in the question, kept until the yes."""

    what: dict[str, Any]  # for the question (coordinator_confirm.html)
    params: dict[str, Any] = field(default_factory=dict)  # what the action reads later
    subject: str | None = None  # the audit line's subject
    person_id: int | None = None
    action: str | None = None  # another command's action (`!godkend 7` is approve-proposal)


@dataclass
class Outcome:
    """What a confirmed action did: how to mark the command, what to say, what follows."""

    ok: bool
    template: str
    values: dict[str, Any] = field(default_factory=dict)
    after: Callable[[], None] | None = None


Find = Callable[[MessageContext], Awaitable[Asking | None]]
Action = Callable[[BotRuntime, PendingAction], Awaitable[Outcome]]
ACTIONS: dict[str, Action] = {}


class AsksFirst:
    """A declared command that changes something; ``@command.act`` says what its yes does."""

    def __init__(self, key: str, find: Find) -> None:
        self.key = key
        self.find = find

    async def __call__(self, ctx: MessageContext) -> None:
        asking = await self.find(ctx)
        if asking is not None:
            await ask(ctx, asking.action or self.key, asking)

    def act(self, run: Action) -> Action:
        ACTIONS[self.key] = run
        return run


def asks_first(
    key: str, *, da: str | tuple[str, ...], en: str | tuple[str, ...], help: str, args: str = ""
) -> Callable[[Find], AsksFirst]:
    """Declare a coordinators' command that changes something, for coordinators in
    their room: its names, help and arguments, and how it finds what it is about."""

    def declare(find: Find) -> AsksFirst:
        command = AsksFirst(key, find)
        COMMANDS.command(
            key, da=da, en=en, help=help, args=args, permission=COORDINATOR, where=HERE
        )(command)
        return command

    return declare


def action(key: str) -> Callable[[Action], Action]:
    """What the confirmation of ``key`` does, for an action no command of its own declares."""

    def register(run: Action) -> Action:
        ACTIONS[key] = run
        return run

    return register


# Asking --------------------------------------------------------------------------------


async def ask(ctx: MessageContext, key: str, asking: Asking) -> None:
    """Store the command as waiting, and ask its coordinator to confirm it."""
    runtime = ctx.runtime
    room_id = ctx.room.room_id
    command_event = ctx.event.event_id
    async with runtime.db.session() as session:
        pending = await session.scalar(
            select(PendingAction).where(PendingAction.command_event_id == command_event)
        )
        if pending is None:
            pending = PendingAction(
                bot=runtime.bot.name,
                room_id=room_id,
                command_event_id=command_event,
                requested_by=ctx.sender,
                action=key,
                params={
                    **asking.params,
                    "lang": ctx.lang,
                    "subject": asking.subject,
                    "person_id": asking.person_id,
                },
                state="waiting",
                created_at=runtime.clock.now(),
            )
            session.add(pending)
            await session.flush()
            audit(
                session,
                runtime,
                ctx.sender,
                key,
                "asked",
                subject=asking.subject,
                person_id=asking.person_id,
                pending=pending.id,
            )
    question = await runtime.send(
        room_id,
        "coordinator_confirm.html",
        ctx.lang,
        txn=txn_id(command_event, "question"),
        action=key,
        what=asking.what,
        minutes=MINUTES,
    )
    if question is None:
        return
    async with runtime.db.session() as session:
        row = await session.get(PendingAction, pending.id)
        if row is not None:
            row.question_event_id = question
    # The two answers ready to click, so a coordinator need not find the emoji.
    for key_ in (CONFIRM, CANCEL):
        await runtime.react(room_id, question, key_)


async def cannot(
    ctx: MessageContext, reason: str, key: str | None = None, /, **values: Any
) -> None:
    """Say kindly why a command cannot be done, mark it ❌, and record the attempt (as
    ``key``'s, by default the command's own)."""
    key = key or command_key(ctx)
    async with ctx.runtime.db.session() as session:
        audit(session, ctx.runtime, ctx.sender, key, "invalid", problem=reason)
    await ctx.reply("coordinator_problem.html", problem=reason, **values)
    await mark(ctx.runtime, ctx.room.room_id, ctx.event.event_id, ok=False)


async def usage(ctx: MessageContext) -> None:
    """How the command is written, from its declaration."""
    assert ctx.invocation is not None and ctx.invocation.command is not None
    command = ctx.invocation.command
    args = ctx.runtime.bot.messages.gettext(ctx.lang, command.args) if command.args else ""
    await cannot(ctx, "usage", command=command.name(ctx.lang), args=args)


def command_key(ctx: MessageContext) -> str:
    assert ctx.invocation is not None and ctx.invocation.command is not None
    return ctx.invocation.command.key


async def mark(runtime: BotRuntime, room_id: str, event_id: str, *, ok: bool) -> None:
    """✅ or ❌ on a command: done, or not done."""
    await runtime.react(room_id, event_id, CONFIRM if ok else CANCEL)


def audit(
    session: AsyncSession,
    runtime: BotRuntime,
    actor: str,
    key: str,
    outcome: str,
    *,
    subject: str | None = None,
    person_id: int | None = None,
    **details: Any,
) -> None:
    session.add(
        AuditEntry(
            at=runtime.clock.now(),
            actor=actor,
            action=f"coordinator.{key}",
            subject=subject,
            details={"outcome": outcome, **details},
            person_id=person_id,
        )
    )


async def close(runtime: BotRuntime, pending: PendingAction, state: str) -> bool:
    """Record how a waiting command ended; False if something else already ended it."""
    async with runtime.db.session() as session:
        row = await session.get(PendingAction, pending.id)
        if row is None or row.state != "waiting":
            return False
        row.state = state
        params = row.params or {}
        person_id = params.get("person_id")
        subject = params.get("subject")
        audit(
            session,
            runtime,
            row.requested_by,
            row.action,
            state,
            subject=subject if isinstance(subject, str) else None,
            person_id=int(person_id) if isinstance(person_id, int) else None,
            pending=row.id,
        )
    return True


def language(runtime: BotRuntime, pending: PendingAction) -> str:
    lang = pending.params.get("lang")
    return lang if isinstance(lang, str) else runtime.settings.language


# Answers: a reply or a reaction --------------------------------------------------------


async def on_text(ctx: MessageContext) -> bool:
    """ "ja" / "nej" to a waiting question in the coordinators' room."""
    if ctx.where is not Where.COORDINATORS_ROOM:
        return False
    answer = answer_of_text(strip_reply_fallback(ctx.body))
    if answer is None:
        return False
    runtime = ctx.runtime
    question = replied_to(ctx.event.source.get("content", {}))
    async with runtime.db.session() as session:
        query = select(PendingAction).where(
            PendingAction.bot == runtime.bot.name, PendingAction.room_id == ctx.room.room_id
        )
        if question is not None:
            pending = await session.scalar(query.where(PendingAction.question_event_id == question))
        else:
            pending = await session.scalar(
                query.where(
                    PendingAction.requested_by == ctx.sender, PendingAction.state == "waiting"
                ).order_by(PendingAction.id.desc())
            )
    if pending is None:
        return False
    await settle(runtime, ctx.room, pending.id, ctx.sender, answer, ctx.event.event_id)
    return True


async def on_reaction(runtime: BotRuntime, room: nio.MatrixRoom, event: nio.ReactionEvent) -> bool:
    """✅ or ❌ on one of our questions."""
    if room.room_id != runtime.coordinators_room_id:
        return False
    answer = answer_of_reaction(event.key)
    if answer is None:
        return False
    async with runtime.db.session() as session:
        pending = await session.scalar(
            select(PendingAction).where(
                PendingAction.bot == runtime.bot.name,
                PendingAction.question_event_id == event.reacts_to,
            )
        )
    if pending is None:
        return False
    await settle(runtime, room, pending.id, event.sender, answer, event.event_id)
    return True


async def settle(
    runtime: BotRuntime,
    room: nio.MatrixRoom,
    pending_id: int,
    sender: str,
    answer: Answer,
    answer_event_id: str,
) -> None:
    """Carry out, cancel or turn away the answer to a waiting command."""
    async with runtime.db.session() as session:
        pending = await session.get(PendingAction, pending_id)
    if pending is None or pending.state != "waiting" or not runtime.is_coordinator(sender, room):
        return
    lang = language(runtime, pending)
    room_id = pending.room_id

    async def say(template: str, **values: Any) -> None:
        await runtime.send(room_id, template, lang, txn=txn_id(answer_event_id, "settle"), **values)

    if not may_confirm(pending.requested_by, sender):
        async with runtime.db.session() as session:
            audit(session, runtime, sender, pending.action, "refused", pending=pending.id)
        await say("coordinator_problem.html", problem="not_yours", ident=pending.requested_by)
        return
    if is_expired(pending.created_at, runtime.clock.now()):
        if not await close(runtime, pending, "expired"):
            return
        await say("coordinator_problem.html", problem="expired", minutes=MINUTES)
        await mark(runtime, room_id, pending.command_event_id, ok=False)
        return
    if answer == "no":
        if not await close(runtime, pending, "cancelled"):
            return
        await say("coordinator_result.html", result="cancelled")
        await mark(runtime, room_id, pending.command_event_id, ok=False)
        return
    try:
        outcome = await ACTIONS[pending.action](runtime, pending)
    except Exception:
        log.exception(
            "coordinator action failed", extra={"bot": runtime.bot.name, "action": pending.action}
        )
        outcome = Outcome(False, "coordinator_problem.html", {"problem": "failed"})
    await close(runtime, pending, "done" if outcome.ok else "failed")
    await say(outcome.template, **outcome.values)
    await mark(runtime, room_id, pending.command_event_id, ok=outcome.ok)
    if outcome.after is not None:
        outcome.after()


async def expire_questions(runtime: BotRuntime) -> None:
    """Close the questions nobody answered in time: ❌ on their command, and a word why."""
    cutoff = runtime.clock.now() - PENDING_LIFETIME
    async with runtime.db.session() as session:
        stale = (
            await session.scalars(
                select(PendingAction).where(
                    PendingAction.bot == runtime.bot.name,
                    PendingAction.state == "waiting",
                    PendingAction.created_at < cutoff,
                )
            )
        ).all()
    for pending in stale:
        if not await close(runtime, pending, "expired"):
            continue
        await runtime.send(
            pending.room_id,
            "coordinator_problem.html",
            language(runtime, pending),
            txn=txn_id(pending.command_event_id, "expired"),
            problem="expired",
            minutes=MINUTES,
        )
        await mark(runtime, pending.room_id, pending.command_event_id, ok=False)


async def on_start(runtime: BotRuntime) -> None:
    """Questions left open expire on their own, also those from before a restart."""
    runtime.spawn_worker(jobs.QUESTIONS, lambda: expire_questions(runtime), every_s=60)
