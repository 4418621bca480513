"""`!bekymring` / `!concern`: anyone can tell the coordinators, privately, what worries them.

The concern is stored first, then posted in the coordinators' room with who raised
it and the match it is about (the other person's name and the visit room), and the
person gets a receipt in their language. Only the words the person wrote in the
concern are passed on: never anything from a visit room.

`!bekymring` alone asks what worries them, and their next message in the direct
room is the concern. That waiting is stored as a ``Dialogue`` of kind "concern";
if the person is in the middle of another dialogue (say, intake), that row is left
as it is and the waiting is noted beside it in its data, valid only while that
dialogue stays at the same step ("stop" or "tilbage" move it on, and end the
waiting too). Nothing the person was doing is lost.

A restart at any point neither loses a concern nor raises it twice: the concern
is found again by the event it came from (recorded in the audit table), and every
message goes out with a transaction ID derived from that event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bots.common.commands import Where
from bots.common.runtime import BotRuntime, MessageContext, txn_id
from bots.matchmaker.coordination import ACTIVE_MATCH_STATES, PAUSED_MATCH_STATE, answer_of_text
from bots.matchmaker.table import COMMANDS
from connec.models import AuditEntry, Concern, Dialogue, Match, Person

log = logging.getLogger(__name__)

DIALOGUE_KIND = "concern"
# The key under which the waiting is noted in another dialogue's data.
MARKER = "concern_waiting"
# After this long, a message is no longer taken as the answer to "what worries you?".
WAITING_LIFETIME = timedelta(hours=24)
RAISED = "concern.raised"
ALERTED = "concern.alerted"
# How many of a person's latest concerns are checked when an event is handled again.
_RECENT = 20


@dataclass(frozen=True)
class MatchView:
    """A match as coordinators see it in an alert: number, the other person, the room."""

    number: int
    other_name: str
    other_id: str
    room_id: str | None
    paused: bool


@COMMANDS.command(
    "concern",
    da=("bekymring", "bekymret"),
    en=("concern", "worried"),
    help="Tell a coordinator privately about something that worries you",
    args="<what worries you>",
    where=Where.DIRECT,
)
async def concern_command(ctx: MessageContext) -> None:
    """`!bekymring <text>` raises a concern at once; `!bekymring` alone asks what it is."""
    text = ctx.args.strip()
    if text:
        await raise_concern(ctx, text)
        return
    await _wait_for_concern(ctx)
    await ctx.reply("concern_ask.html", stop_word="stop")


async def on_text(ctx: MessageContext) -> bool:
    """The message after a bare `!bekymring` is the concern; "nej" lets it be.

    ("stop" is intake's command and ends the waiting there.)
    """
    if ctx.where is not Where.DIRECT:
        return False
    waiting = await _waiting(ctx.runtime, ctx.sender)
    if waiting is None:
        return False
    lang = str(waiting.get("lang") or ctx.lang)
    asked_at = _parse_time(waiting.get("asked_at"))
    if asked_at is not None and ctx.runtime.clock.now() - asked_at > WAITING_LIFETIME:
        # Long ago: this message is about something else. Let the others answer it.
        async with ctx.runtime.db.session() as session:
            await _finish_dialogue(session, ctx.runtime.bot.name, ctx.sender)
        return False
    ctx.lang = lang
    if answer_of_text(ctx.body) == "no":
        async with ctx.runtime.db.session() as session:
            await _finish_dialogue(session, ctx.runtime.bot.name, ctx.sender)
        await ctx.reply("concern_cancelled.html", word=_command_word(lang))
        return True
    await raise_concern(ctx, ctx.body.strip())
    return True


async def raise_concern(ctx: MessageContext, text: str) -> Concern:
    """Store the concern, tell the coordinators at once, and give the person a receipt."""
    runtime = ctx.runtime
    event_id = ctx.event.event_id
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        concern = await _raised_by_event(session, ctx.sender, event_id)
        reporter = await session.scalar(select(Person).where(Person.matrix_id == ctx.sender))
        matches = await matches_of(session, reporter)
        if concern is None:
            concern = Concern(
                reporter_id=reporter.id if reporter else None,
                # A volunteer with several friends: the alert names them all, and the
                # coordinators ask; the row only links a match when there is no doubt.
                match_id=matches[0].number if len(matches) == 1 else None,
                text=text,
                source="person",
                state="open",
                created_at=now,
            )
            session.add(concern)
            await session.flush()
            session.add(
                AuditEntry(
                    at=now,
                    actor=ctx.sender,
                    action=RAISED,
                    subject=f"concern:{concern.id}",
                    details={"event_id": event_id, "match_ids": [m.number for m in matches]},
                    person_id=reporter.id if reporter else None,
                )
            )
        await _finish_dialogue(session, runtime.bot.name, ctx.sender)
    alerted = await alert_coordinators(
        runtime, concern, ctx.sender, reporter, matches, txn=txn_id(event_id, "concern-alert")
    )
    other_names = [m.other_name for m in matches]
    await ctx.reply("concern_receipt.html", alerted=alerted, others=other_names)
    return concern


async def alert_coordinators(
    runtime: BotRuntime,
    concern: Concern,
    reporter_id: str,
    reporter: Person | None,
    matches: list[MatchView],
    *,
    txn: str,
) -> bool:
    """Post the concern in the coordinators' room; True when it is posted (it goes out
    when a coordinator can read it)."""
    room_id = runtime.coordinators_room_id
    if room_id is None:
        log.error("no coordinators' room to alert", extra={"bot": runtime.bot.name})
        return False
    lang = runtime.settings.language
    resolved = COMMANDS.find("resolved")
    # Kept in the outbox until a coordinator has a device to read it on.
    event_id = await runtime.post(
        room_id,
        "concern_alert.html",
        lang,
        txn=txn,
        readers=None,
        subjects=[reporter_id, *(m.other_id for m in matches)],
        number=concern.id,
        name=reporter.display_name if reporter and reporter.display_name else reporter_id,
        matrix_id=reporter_id,
        role=reporter.role if reporter else None,
        matches=matches,
        text=concern.text,
        resolved_word=resolved[0].name(lang) if resolved else "resolved",
    )
    async with runtime.db.session() as session:
        subject = f"concern:{concern.id}"
        known = await session.scalar(
            select(AuditEntry.id).where(AuditEntry.action == ALERTED, AuditEntry.subject == subject)
        )
        if known is None:
            session.add(
                AuditEntry(
                    at=runtime.clock.now(),
                    actor=runtime.user_id,
                    action=ALERTED,
                    subject=subject,
                    details={"event_id": event_id},
                )
            )
    return True


async def matches_of(session: AsyncSession, person: Person | None) -> list[MatchView]:
    """A person's matches that have not ended, oldest first, as coordinators see them."""
    if person is None:
        return []
    rows = (
        await session.scalars(
            select(Match)
            .where(
                or_(Match.a_id == person.id, Match.b_id == person.id),
                Match.state.in_((*ACTIVE_MATCH_STATES, PAUSED_MATCH_STATE)),
            )
            .order_by(Match.id)
        )
    ).all()
    views = []
    for match in rows:
        other = await session.get(Person, match.b_id if match.a_id == person.id else match.a_id)
        views.append(
            MatchView(
                number=match.id,
                other_name=(other.display_name or other.matrix_id) if other else "?",
                other_id=other.matrix_id if other else "?",
                room_id=match.room_id,
                paused=match.state == PAUSED_MATCH_STATE,
            )
        )
    return views


async def reporter_of(session: AsyncSession, concern: Concern) -> str | None:
    """Who raised a concern: their Matrix ID, also when connec has no profile for them."""
    if concern.reporter_id is not None:
        person = await session.get(Person, concern.reporter_id)
        if person is not None:
            return person.matrix_id
    return await session.scalar(
        select(AuditEntry.actor).where(
            AuditEntry.action == RAISED, AuditEntry.subject == f"concern:{concern.id}"
        )
    )


async def on_start(runtime: BotRuntime) -> None:
    """Post open concerns that were stored but never reached the coordinators' room."""
    async with runtime.db.session() as session:
        alerted = select(AuditEntry.subject).where(AuditEntry.action == ALERTED)
        raised = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == RAISED, AuditEntry.subject.not_in(alerted))
                .order_by(AuditEntry.id)
            )
        ).all()
        unsent = []
        for entry in raised:
            concern_id = int(str(entry.subject).removeprefix("concern:"))
            concern = await session.get(Concern, concern_id)
            if concern is None or concern.state != "open":
                continue
            reporter = (
                await session.get(Person, concern.reporter_id) if concern.reporter_id else None
            )
            unsent.append(
                (concern, entry.actor, reporter, await matches_of(session, reporter), entry.details)
            )
    for concern, actor, reporter, matches, details in unsent:
        txn = txn_id(str(details.get("event_id", concern.id)), "concern-alert")
        await alert_coordinators(runtime, concern, actor, reporter, matches, txn=txn)


# The waiting state ---------------------------------------------------------------------


async def _wait_for_concern(ctx: MessageContext) -> None:
    """Remember that this person's next message is their concern."""
    bot = ctx.runtime.bot.name
    marker: dict[str, Any] = {"asked_at": ctx.runtime.clock.now().isoformat(), "lang": ctx.lang}
    async with ctx.runtime.db.session() as session:
        row = await _dialogue(session, bot, ctx.sender)
        if row is None:
            session.add(
                Dialogue(
                    bot=bot, matrix_id=ctx.sender, kind=DIALOGUE_KIND, step="waiting", data=marker
                )
            )
        elif row.kind == DIALOGUE_KIND:
            row.data = marker
        else:
            # Another dialogue is under way (say, intake): leave it be and note the
            # waiting beside it, valid only while that dialogue stays where it is.
            row.data = {**row.data, MARKER: {**marker, "kind": row.kind, "step": row.step}}


def _marker(row: Dialogue | None) -> dict[str, Any] | None:
    """The waiting for a concern that this dialogue row holds, if it still holds."""
    if row is None:
        return None
    if row.kind == DIALOGUE_KIND:
        return dict(row.data)
    marker = row.data.get(MARKER)
    if isinstance(marker, dict) and (marker.get("kind"), marker.get("step")) == (
        row.kind,
        row.step,
    ):
        return marker
    return None


async def _waiting(runtime: BotRuntime, matrix_id: str) -> dict[str, Any] | None:
    async with runtime.db.session() as session:
        return _marker(await _dialogue(session, runtime.bot.name, matrix_id))


async def _finish_dialogue(session: AsyncSession, bot: str, matrix_id: str) -> None:
    """End the waiting; a dialogue it was noted beside goes on untouched."""
    row = await _dialogue(session, bot, matrix_id)
    if row is None:
        return
    if row.kind == DIALOGUE_KIND:
        await session.delete(row)
    elif MARKER in row.data:
        row.data = {key: value for key, value in row.data.items() if key != MARKER}


async def _dialogue(session: AsyncSession, bot: str, matrix_id: str) -> Dialogue | None:
    return await session.scalar(
        select(Dialogue).where(Dialogue.bot == bot, Dialogue.matrix_id == matrix_id)
    )


async def _raised_by_event(session: AsyncSession, sender: str, event_id: str) -> Concern | None:
    """The concern this very event raised before a crash, if any."""
    entries = (
        await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == RAISED, AuditEntry.actor == sender)
            .order_by(AuditEntry.id.desc())
            .limit(_RECENT)
        )
    ).all()
    for entry in entries:
        if entry.details.get("event_id") == event_id and entry.subject:
            return await session.get(Concern, int(entry.subject.removeprefix("concern:")))
    return None


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _command_word(lang: str) -> str:
    found = COMMANDS.find("concern")
    return found[0].name(lang) if found else "concern"
