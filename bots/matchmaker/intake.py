"""Intake by chat: a person tells the matchmaker about themselves in their direct room.

The dialogue itself is plain data in ``intake_steps.py``; this module is the shell
around it: it reads the person's ``Dialogue`` row, feeds it the answer, stores the
new state together with what to say (an outbox) and any change to the ``Person``
in one transaction, and only then sends. A message handled again after a crash
finds its own event ID in the row and re-sends the stored outbox with the same
transaction IDs, so Synapse drops the duplicates and nothing is applied twice.

Who is asked: anyone whose profile is not complete, after the greeting and
whenever they write plain words, is invited to write ``start``. Someone connec does
not know yet is asked first whether they are a citizen, a volunteer or a peer; a
new volunteer waits for a coordinator's approval. People enrolled on the portal
(profile complete) are not asked again; they use ``!ret`` to change a part.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bots.common.commands import Where
from bots.common.runtime import BotRuntime, MessageContext, txn_id
from bots.matchmaker import intake_steps as steps
from bots.matchmaker import jobs
from bots.matchmaker.table import COMMANDS
from connec.i18n import normalise_language
from connec.models import AuditEntry, Dialogue, Person
from connec.people import MATCHABLE_ROLES, STAFF_ROLES

log = logging.getLogger(__name__)

BOT = "matchmaker"
KINDS = ("intake", "edit")


# Reading and writing the dialogue ----------------------------------------------------------


async def _dialogue(session: AsyncSession, matrix_id: str) -> Dialogue | None:
    return await session.scalar(
        select(Dialogue).where(Dialogue.bot == BOT, Dialogue.matrix_id == matrix_id)
    )


async def _person(session: AsyncSession, matrix_id: str) -> Person | None:
    return await session.scalar(select(Person).where(Person.matrix_id == matrix_id))


def _is_open(row: Dialogue | None) -> bool:
    """An intake or a change under way (not finished, not put aside)."""
    return row is not None and row.kind in KINDS and row.step not in (steps.DONE, steps.STOPPED)


def _lang(ctx: MessageContext, person: Person | None, data: dict[str, Any] | None) -> str:
    """The language of the dialogue: the person's, the one someone new chose, or the message's.

    A Danish speaker who writes "back" still gets the next question in Danish.
    """
    if person is not None:
        return normalise_language(person.language)
    return normalise_language((data or {}).get("lang") or ctx.lang)


def _outbox(messages: list[steps.Message], lang: str) -> list[dict[str, Any]]:
    return [{**message.as_dict(), "lang": lang} for message in messages]


def _store(
    session: AsyncSession,
    row: Dialogue | None,
    matrix_id: str,
    state: steps.State,
    *,
    step: str,
    event_id: str,
    outbox: list[dict[str, Any]],
    lang: str | None,
) -> Dialogue:
    """Write the state, with the event it answered and what to say, into the person's row."""
    data: dict[str, Any] = {**state.to_json(), "last_event": event_id, "outbox": outbox}
    if lang:
        data["lang"] = lang
    if row is None:
        row = Dialogue(bot=BOT, matrix_id=matrix_id, kind=state.kind, step=step, data=data)
        session.add(row)
    else:
        # A fresh dict: SQLAlchemy does not see changes made inside a JSON value.
        row.kind, row.step, row.data = state.kind, step, data
    return row


async def _deliver(
    runtime: BotRuntime, room_id: str, event_id: str, outbox: list[dict[str, Any]]
) -> None:
    """Send what a stored answer said, each message with a transaction ID of its own."""
    for index, message in enumerate(outbox):
        await runtime.send(
            message.get("room") or room_id,
            message["template"],
            message.get("lang"),
            txn=txn_id(event_id, "intake", str(index)),
            **message["values"],
        )


async def _replayed(ctx: MessageContext) -> bool:
    """Re-send the stored answer to this very message, if it was already handled."""
    async with ctx.runtime.db.session() as session:
        row = await _dialogue(session, ctx.sender)
        data: dict[str, Any] = dict(row.data) if row is not None else {}
    if data.get("last_event") != ctx.event.event_id:
        return False
    await _deliver(ctx.runtime, ctx.room.room_id, ctx.event.event_id, data.get("outbox") or [])
    return True


# Answers ------------------------------------------------------------------------------------


async def continue_dialogue(ctx: MessageContext, text: str | None = None) -> bool:
    """Take ``text`` (the message by default) as the answer to the person's open question.

    False if they have no intake or change under way, or the message is not in their
    direct room (a visit room is for the two friends, not for questions).
    """
    if ctx.where is not Where.DIRECT:
        return False
    if await _replayed(ctx):
        return True
    runtime, event_id = ctx.runtime, ctx.event.event_id
    async with runtime.db.session() as session:
        row = await _dialogue(session, ctx.sender)
        if row is None or not _is_open(row):
            return False
        data: dict[str, Any] = dict(row.data)
        person = await _person(session, ctx.sender)
        lang = _lang(ctx, person, data)
        state = steps.State.from_json(data)
        outcome = steps.answer(
            state,
            ctx.body if text is None else text,
            lang=lang,
            today_year=runtime.clock.now().year,
        )
        outbox = _outbox(outcome.messages, lang)
        step = outcome.state.step
        completed = False
        if outcome.effect == "role":
            person = await _join(session, person, ctx, outcome.state, lang)
        elif outcome.effect == "save":
            person = await _save(session, person, ctx, outcome.state, outcome.fields, lang)
            outbox = _with_saved_values(outbox, person)
            completed = state.kind == "intake"
            if completed:
                outbox += _coordinator_notice(runtime, person)
        elif outcome.effect == "stopped":
            step = steps.STOPPED
        elif outcome.effect == "cancelled":
            step = steps.DONE
        _store(
            session,
            row,
            ctx.sender,
            outcome.state,
            step=step,
            event_id=event_id,
            outbox=outbox,
            lang=None if person is not None else data.get("lang"),
        )
    await _deliver(runtime, ctx.room.room_id, event_id, outbox)
    if completed:
        request_matching(runtime, person.id if person is not None else None)
    return True


async def _join(
    session: AsyncSession,
    person: Person | None,
    ctx: MessageContext,
    state: steps.State,
    lang: str,
) -> Person:
    """Someone new said who they are: they become a person connec knows (not yet complete)."""
    role = state.role or "citizen"
    # A volunteer who signs up by chat is vetted by a coordinator first; citizens
    # and peers can be matched as soon as their profile is complete.
    approval = "pending" if role == "volunteer" else "approved"
    if person is None:
        person = Person(
            matrix_id=ctx.sender,
            role=role,
            display_name=state.answers.get("display_name") or _localpart(ctx.sender),
            language=lang,
            approval=approval,
            profile_complete=False,
        )
        session.add(person)
        await session.flush()
        session.add(
            AuditEntry(
                actor=ctx.sender,
                action="person_joined",
                subject=ctx.sender,
                details={"role": role, "via": "chat"},
                person_id=person.id,
                at=ctx.runtime.clock.now(),
            )
        )
    elif person.role != role and person.role in MATCHABLE_ROLES:
        person.role, person.approval = role, approval
    return person


async def _save(
    session: AsyncSession,
    person: Person | None,
    ctx: MessageContext,
    state: steps.State,
    fields: tuple[str, ...],
    lang: str,
) -> Person:
    """Write answered fields to the profile; an intake also completes it."""
    if person is None:
        person = await _join(session, None, ctx, state, lang)
    for name in fields:
        if name in state.answers:
            value = state.answers[name]
            setattr(person, name, list(value) if isinstance(value, list) else value)
    if state.kind == "intake":
        person.profile_complete = True
        action = "profile_completed"
        details: dict[str, object] = {"via": "chat", "role": person.role}
    else:
        action, details = "profile_edited", {"via": "chat", "part": state.part}
    session.add(
        AuditEntry(
            actor=ctx.sender,
            action=action,
            subject=ctx.sender,
            details=details,
            person_id=person.id,
            at=ctx.runtime.clock.now(),
        )
    )
    return person


def _with_saved_values(outbox: list[dict[str, Any]], person: Person) -> list[dict[str, Any]]:
    """The thank-you names the person and says whether a coordinator still has to approve."""
    extra = {
        "name": (person.display_name or "").split(" ")[0],
        "pending": person.role == "volunteer" and person.approval != "approved",
    }
    return [{**m, "values": {**extra, **m["values"]}} for m in outbox]


def _coordinator_notice(runtime: BotRuntime, person: Person) -> list[dict[str, Any]]:
    """A new volunteer waiting for approval is announced in the coordinators' room."""
    if person.role != "volunteer" or person.approval != "pending":
        return []
    if runtime.coordinators_room_id is None:
        return []
    return [
        {
            "template": "intake_volunteer_waiting.html",
            "values": {"name": person.display_name, "matrix_id": person.matrix_id},
            "room": runtime.coordinators_room_id,
            "lang": runtime.settings.language,
        }
    ]


def request_matching(runtime: BotRuntime, person_id: int | None = None) -> None:
    """Someone may be matched now: place them at once if a round ran, and ask for a round soon.

    They hear that the search goes on if nobody free fits them now.
    """
    try:
        runtime.wake(jobs.ROUND, person_ids=[] if person_id is None else [person_id], tell=True)
    except Exception:
        log.exception("could not ask for a matching round", extra={"bot": BOT})


def _localpart(matrix_id: str) -> str:
    return matrix_id.removeprefix("@").split(":")[0]


# Starting -----------------------------------------------------------------------------------


async def begin_intake(
    ctx: MessageContext,
    *,
    lang: str | None = None,
    before: list[steps.Message] | None = None,
    welcome_back: bool = True,
) -> None:
    """Start (or pick up again) the person's intake and ask the first open question.

    ``lang`` is a language someone new chose before connec knows them; ``before``
    are messages to send ahead of the question; ``welcome_back`` greets someone
    picking up an intake they had put aside.
    """
    if await _replayed(ctx):
        return
    runtime, event_id = ctx.runtime, ctx.event.event_id
    async with runtime.db.session() as session:
        row = await _dialogue(session, ctx.sender)
        person = await _person(session, ctx.sender)
        data: dict[str, Any] = dict(row.data) if row is not None and row.kind in KINDS else {}
        chosen = lang or (data.get("lang") if person is None else None)
        reply_lang = lang or _lang(ctx, person, data)
        state: steps.State | None = None
        if person is not None and person.role in STAFF_ROLES:
            reply = steps.Message("intake_not_for_staff.html")
        elif person is not None and person.profile_complete:
            reply = steps.Message("intake_already_complete.html")
        elif row is not None and row.kind == "intake" and row.step != steps.DONE:
            # Under way or put aside: carry on from the same question.
            state = steps.State.from_json(data)
            reply = steps.question(state, reply_lang, resumed=welcome_back)
        else:
            answers = (
                steps.answers_of(person)
                if person is not None
                else {"display_name": ctx.room.user_name(ctx.sender) or _localpart(ctx.sender)}
            )
            role = person.role if person is not None else None
            state, reply = steps.start_intake(role, answers, reply_lang)
        outbox = _outbox([*(before or []), reply], reply_lang)
        if state is not None:
            _store(
                session,
                row,
                ctx.sender,
                state,
                step=state.step,
                event_id=event_id,
                outbox=outbox,
                lang=chosen,
            )
    # Without a stored state, the same answer is simply worked out again after a
    # crash, and its transaction IDs make Synapse drop a second copy.
    await _deliver(runtime, ctx.room.room_id, event_id, outbox)


async def begin_edit(ctx: MessageContext, part: steps.Part, person: Person) -> None:
    """Ask the questions of one part of the profile again; the answers are saved at once."""
    if await _replayed(ctx):
        return
    runtime, event_id = ctx.runtime, ctx.event.event_id
    lang = _lang(ctx, person, None)
    state, first = steps.start_edit(part, person.role, steps.answers_of(person), lang)
    outbox = _outbox([first], lang)
    async with runtime.db.session() as session:
        row = await _dialogue(session, ctx.sender)
        _store(
            session,
            row,
            ctx.sender,
            state,
            step=state.step,
            event_id=event_id,
            outbox=outbox,
            lang=None,
        )
    await _deliver(runtime, ctx.room.room_id, event_id, outbox)


async def open_state(runtime: BotRuntime, matrix_id: str) -> steps.State | None:
    """The person's intake or change under way, if any (not one put aside)."""
    async with runtime.db.session() as session:
        row = await _dialogue(session, matrix_id)
        return steps.State.from_json(row.data) if row is not None and _is_open(row) else None


async def ask_again(runtime: BotRuntime, matrix_id: str, device_ids: list[str]) -> None:
    """Someone signed in on a new device mid-intake: the question they are on, again."""
    state = await open_state(runtime, matrix_id)
    if state is None:
        return
    question = steps.question(state, await runtime.language_of(matrix_id))
    await runtime.send_direct(
        matrix_id,
        "asked_again.html",
        txn=txn_id("intake-again", matrix_id, state.step, *device_ids),
        question=question.template,
        **question.values,
    )


async def has_open_intake(runtime: BotRuntime, matrix_id: str) -> bool:
    """Whether the person is in the middle of their intake (not put aside)."""
    state = await open_state(runtime, matrix_id)
    return state is not None and state.kind == "intake"


async def answered_instead(ctx: MessageContext) -> bool:
    """A command word written without "!" in the middle of a dialogue is an answer.

    "Sprog, historie" answers "what are you interested in?"; it does not mean
    ``!sprog``. Commands with "!" always run. True if the message was taken as an answer.
    """
    if ctx.body.lstrip().startswith("!"):
        return False
    return await continue_dialogue(ctx)


# The bot's hooks ----------------------------------------------------------------------------


def _needs_intake(person: Person | None) -> bool:
    return person is None or (person.role in MATCHABLE_ROLES and not person.profile_complete)


async def on_text(ctx: MessageContext) -> bool:
    """Plain words in a direct room: an answer to the open question, or an invitation."""
    if ctx.where is not Where.DIRECT:
        return False
    if await continue_dialogue(ctx):
        return True
    async with ctx.runtime.db.session() as session:
        person = await _person(session, ctx.sender)
        row = await _dialogue(session, ctx.sender)
        put_aside = row is not None and row.kind == "intake" and row.step == steps.STOPPED
    if not _needs_intake(person):
        return False
    await ctx.reply("intake_invitation.html", put_aside=put_aside)
    return True


async def after_greeting(runtime: BotRuntime, room_id: str, matrix_id: str, lang: str) -> None:
    """Right after the greeting, invite someone whose profile is not complete to start."""
    async with runtime.db.session() as session:
        person = await _person(session, matrix_id)
    if _needs_intake(person):
        await runtime.post(
            room_id,
            "intake_invitation.html",
            lang,
            txn=txn_id("intake-invitation", room_id),
            readers=[matrix_id],
            subjects=[matrix_id],
            put_aside=False,
        )


async def on_start(runtime: BotRuntime) -> None:
    """Nothing to resume: a dialogue waits, stored, for the person's next message."""


# Commands -------------------------------------------------------------------------------------


@COMMANDS.command(
    "start",
    da=("start", "om-mig"),
    en=("start", "about-me"),
    help="Tell me about yourself, so I can find you a visiting friend",
    where=Where.DIRECT,
)
async def start_command(ctx: MessageContext) -> None:
    """``!start``: begin the intake, or carry on where the person stopped."""
    await begin_intake(ctx)


@COMMANDS.command(
    "stop",
    da=("stop", "afbryd"),
    en=("stop", "cancel"),
    help="Stop the questions we are in the middle of",
    where=Where.DIRECT,
)
async def stop_command(ctx: MessageContext) -> None:
    """``stop`` always works: it stops the intake (kept for later) or a change (dropped)."""
    if await continue_dialogue(ctx, "stop"):
        return
    await _not_ours(ctx)


async def _not_ours(ctx: MessageContext) -> None:
    """ "stop" or "tilbage" with no intake or change open.

    Another question of the bot's may be open (e.g. "what worries you?"): the
    plain-words chain knows how to end that, so the word goes there.
    """
    async with ctx.runtime.db.session() as session:
        row = await _dialogue(session, ctx.sender)
    if row is not None and row.kind not in KINDS:
        await ctx.runtime.bot.on_text(ctx)
        return
    await ctx.reply("intake_nothing_open.html")


@COMMANDS.command(
    "back",
    da=("tilbage",),
    en=("back",),
    help="Go back to the previous question",
    where=Where.DIRECT,
)
async def back_command(ctx: MessageContext) -> None:
    """``tilbage`` always works in a dialogue: the previous question again."""
    if await continue_dialogue(ctx, "tilbage"):
        return
    await _not_ours(ctx)
