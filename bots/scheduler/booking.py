"""Booking visits in a visit room: `!besøg` / `!visit`, `!aflys` / `!cancel`, `!flyt` / `!move`.

Either person books with a time in everyday words; the bot says the time back in
words, in each person's own zone, and asks the other person to confirm with a word
("ja", "yes", "ok") or a ✅ / 👍 reaction on its question. The booker cannot confirm
their own booking. A confirmed visit gets its reminders and a calendar file.

Handlers follow parse → store → reply. Each is safe to run twice for the same
message (a crash before the runtime records the message as handled): the same
booking is found again, and replies reuse their transaction IDs.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import nio
from sqlalchemy import select

from bots.common.commands import Where
from bots.common.runtime import BotRuntime, MessageContext, txn_id
from bots.scheduler import calendar, silence
from bots.scheduler.dialogue import is_no, is_yes, plain
from bots.scheduler.reminders import (
    cancel_reminders,
    next_occurrence,
    occurrences,
    plan_booking,
    schedule,
    unschedule,
    visit_of,
)
from bots.scheduler.table import COMMANDS
from bots.scheduler.timeparse import (
    ASK_TIME,
    DEFAULT_DURATION_MINUTES,
    BookingRequest,
    parse_booking,
)
from bots.scheduler.visit_room import VisitRoom, first_name, visit_room
from bots.scheduler.when_words import spell_out, spell_out_day, spell_out_weekly
from connec.models import Booking, Person, Reminder

log = logging.getLogger(__name__)

PROPOSED, CONFIRMED, CANCELLED, MOVED = "proposed", "confirmed", "cancelled", "moved"
OPEN = (PROPOSED, CONFIRMED)
CONFIRM_REACTIONS = frozenset({"✅", "👍", "✔️", "✔", "👌", "☑️"})
DECLINE_REACTIONS = frozenset({"👎", "❌"})
LIST_WORDS = frozenset({"liste", "list", "vis", "show", "oversigt"})
# A booking made again from the same message (after a crash) is found, not doubled.
SAME_BOOKING_WINDOW = timedelta(hours=1)
_NUMBER = re.compile(
    r"^\s*(?:nr\.?|no\.?|#)?\s*(\d{1,9})\b[\s,.:]*(.*)$", re.IGNORECASE | re.DOTALL
)


@dataclass(frozen=True)
class Answer:
    """Messages caused by one event, each with a transaction ID from that event."""

    runtime: BotRuntime
    room_id: str
    lang: str
    cause: str  # the event ID of what is being answered

    async def __call__(
        self, template: str, *, mentions: list[str] | None = None, **values: Any
    ) -> str | None:
        return await self.runtime.send(
            self.room_id,
            template,
            self.lang,
            txn=txn_id(self.cause, template),
            mentions=mentions,
            **values,
        )


def answer_for(ctx: MessageContext) -> Answer:
    return Answer(ctx.runtime, ctx.room.room_id, ctx.lang, ctx.event.event_id)


def split_number(text: str) -> tuple[int | None, str]:
    """``"12 fredag kl 10"`` → ``(12, "fredag kl 10")``; also "nr. 12", "#12"."""
    found = _NUMBER.match(text)
    if found is None:
        return None, text.strip()
    return int(found.group(1)), found.group(2).strip()


def pill(person: Person) -> dict[str, str]:
    return {"id": person.matrix_id, "name": first_name(person)}


async def _room_and_person(ctx: MessageContext, answer: Answer) -> tuple[VisitRoom, Person] | None:
    """The visit room and the person speaking, or a kind word why not here."""
    async with ctx.runtime.db.session() as session:
        room = await visit_room(session, ctx.room.room_id)
    if room is None or not room.active:
        await answer("booking_not_here.html", paused=room is not None)
        return None
    person = room.person(ctx.sender)
    if person is None:
        await answer("booking_not_yours.html")
        return None
    return room, person


async def _problem(answer: Answer, request: BookingRequest, lang: str) -> None:
    """A kind answer with examples for a time that cannot be booked."""
    day = None
    if request.problem == ASK_TIME and request.day is not None:
        day = spell_out_day(request.day, lang)
    await answer("booking_problem.html", problem=request.problem, day=day)


# --- !besøg / !visit ---------------------------------------------------------------------


@COMMANDS.command(
    "visit",
    da=("besøg", "besoeg", "besog", "book"),
    en=("visit", "visits"),
    help="Book a visit, e.g. “!visit Thursday 2pm”; alone, it lists your visits",
    args="[when]",
    where=Where.VISIT_ROOM,
)
async def visit_command(ctx: MessageContext) -> None:
    await silence.note_activity(ctx.runtime, ctx.room.room_id)
    if not ctx.args or plain(ctx.args) in LIST_WORDS:
        await list_visits(ctx)
    else:
        await book(ctx, ctx.args)


async def book(ctx: MessageContext, text: str, replaces: Booking | None = None) -> None:
    """Read a time, store a proposed booking and ask the other person to confirm."""
    answer = answer_for(ctx)
    found = await _room_and_person(ctx, answer)
    if found is None:
        return
    room, booker = found
    now = ctx.runtime.clock.now()
    request = parse_booking(text, now, booker.timezone)
    if request.problem is not None or request.when is None:
        await _problem(answer, request, ctx.lang)
        return
    when = request.when.astimezone(UTC)
    weekly = request.weekly or (replaces is not None and replaces.weekly)
    duration = request.duration_minutes
    if replaces is not None and duration == DEFAULT_DURATION_MINUTES:
        duration = replaces.duration_minutes
    mode = request.contact_mode or (replaces.contact_mode if replaces else None)
    async with ctx.runtime.db.session() as session:
        booking = await session.scalar(
            select(Booking).where(
                Booking.room_id == room.room_id,
                Booking.booked_by == ctx.sender,
                Booking.starts_at == when,
                Booking.state == PROPOSED,
                Booking.created_at >= now - SAME_BOOKING_WINDOW,
            )
        )
        if booking is None:
            booking = Booking(
                match_id=room.match.id,
                room_id=room.room_id,
                booked_by=ctx.sender,
                starts_at=when,
                zone=booker.timezone,
                duration_minutes=duration,
                contact_mode=mode,
                weekly=weekly,
                state=PROPOSED,
                replaces_id=replaces.id if replaces else None,
                created_at=now,
                updated_at=now,
            )
            session.add(booking)
            await session.flush()
        number = booking.id
    other = room.other(booker)
    question = await answer(
        "booking_proposed.html",
        mentions=[other.matrix_id],
        number=number,
        booker=first_name(booker),
        other=pill(other),
        lines=room.when(when, weekly, ctx.lang),
        duration=duration,
        mode=_mode(mode),
        weekly=weekly,
        first=_first_day(when, booker.timezone, ctx.lang) if weekly else None,
        moved_from=replaces.id if replaces else None,
    )
    if question is not None:
        async with ctx.runtime.db.session() as session:
            row = await session.get(Booking, number)
            if row is not None:
                row.question_event_id = question


def _first_day(at: datetime, zone: str, lang: str) -> str:
    return spell_out_day(at.astimezone(ZoneInfo(zone)).date(), lang)


def _mode(mode: str | None) -> str | None:
    return "voice" if mode == "call" else mode


async def list_visits(ctx: MessageContext) -> None:
    """Upcoming visits in this room, in the asking person's own zone and language."""
    answer = answer_for(ctx)
    found = await _room_and_person(ctx, answer)
    if found is None:
        return
    _, person = found
    now = ctx.runtime.clock.now()
    async with ctx.runtime.db.session() as session:
        bookings = (
            await session.scalars(
                select(Booking)
                .where(Booking.room_id == ctx.room.room_id, Booking.state.in_(OPEN))
                .order_by(Booking.starts_at)
            )
        ).all()
    upcoming = sorted(
        ((at, b) for b in bookings if (at := next_occurrence(visit_of(b), now)) is not None),
        key=lambda pair: pair[0],
    )
    items = []
    for at, booking in upcoming:
        items.append(
            {
                "number": booking.id,
                "when": spell_out(at, ctx.lang, person.timezone),
                "every": spell_out_weekly(at, ctx.lang, person.timezone)
                if booking.weekly
                else None,
                "waiting": booking.state == PROPOSED,
                "mode": _mode(booking.contact_mode),
            }
        )
    await answer("booking_list.html", items=items)


# --- !aflys / !cancel, !flyt / !move --------------------------------------------------------


async def _changeable(
    ctx: MessageContext, answer: Answer, number: int | None, usage: str
) -> tuple[VisitRoom, Person, Booking] | None:
    found = await _room_and_person(ctx, answer)
    if found is None:
        return None
    room, person = found
    if number is None:
        await answer("booking_which.html", usage=usage)
        return None
    async with ctx.runtime.db.session() as session:
        booking = await session.get(Booking, number)
    if booking is None or booking.room_id != room.room_id:
        await answer("booking_not_found.html", number=number, usage=usage)
        return None
    return room, person, booking


@COMMANDS.command(
    "cancel",
    da=("aflys",),
    en=("cancel",),
    help="Cancel a visit by its number",
    args="<number>",
    where=Where.VISIT_ROOM,
)
async def cancel_command(ctx: MessageContext) -> None:
    await silence.note_activity(ctx.runtime, ctx.room.room_id)
    answer = answer_for(ctx)
    number, _ = split_number(ctx.args)
    found = await _changeable(ctx, answer, number, "cancel")
    if found is None:
        return
    room, person, booking = found
    if booking.state not in (*OPEN, CANCELLED):
        await answer("booking_not_found.html", number=booking.id, usage="cancel")
        return
    async with ctx.runtime.db.session() as session:
        row = await session.get(Booking, booking.id)
        assert row is not None
        row.state, row.updated_at = CANCELLED, ctx.runtime.clock.now()
        dropped = await cancel_reminders(session, row.id)
    unschedule(ctx.runtime, dropped)
    await answer(
        "booking_cancelled.html",
        mentions=room.mentions,
        number=booking.id,
        by=first_name(person),
        people=[pill(p) for p in room.people],
        lines=room.when(_shown_time(booking, ctx.runtime.clock.now()), booking.weekly, ctx.lang),
        weekly=booking.weekly,
    )


def _shown_time(booking: Booking, now: datetime) -> datetime:
    return next_occurrence(visit_of(booking), now) or booking.starts_at


@COMMANDS.command(
    "move",
    da=("flyt",),
    en=("move",),
    help="Move a visit to another time, e.g. “!move 12 Friday 10am”",
    args="<number> <when>",
    where=Where.VISIT_ROOM,
)
async def move_command(ctx: MessageContext) -> None:
    await silence.note_activity(ctx.runtime, ctx.room.room_id)
    answer = answer_for(ctx)
    number, text = split_number(ctx.args)
    found = await _changeable(ctx, answer, number, "move")
    if found is None:
        return
    _, person, booking = found
    if not text:
        await answer("booking_which.html", usage="move")
        return
    if booking.state == MOVED:
        # The same message again after a crash: ask about the replacement again.
        await book(ctx, text, replaces=booking)
        return
    if booking.state not in OPEN:
        await answer("booking_not_found.html", number=booking.id, usage="move")
        return
    request = parse_booking(text, ctx.runtime.clock.now(), person.timezone)
    if request.problem is not None:
        await _problem(answer, request, ctx.lang)
        return
    async with ctx.runtime.db.session() as session:
        row = await session.get(Booking, booking.id)
        assert row is not None
        row.state, row.updated_at = MOVED, ctx.runtime.clock.now()
        dropped = await cancel_reminders(session, row.id)
    unschedule(ctx.runtime, dropped)
    await book(ctx, text, replaces=booking)


# --- Confirming ------------------------------------------------------------------------


def _reply_target(event: nio.Event) -> str | None:
    """The event a message replies to (Element's "Reply"), if any."""
    content = event.source.get("content", {}) if isinstance(event.source, dict) else {}
    relates = content.get("m.relates_to") or {}
    reply = relates.get("m.in_reply_to") or {}
    target = reply.get("event_id")
    return target if isinstance(target, str) else None


async def on_text(ctx: MessageContext) -> bool:
    """A plain "ja" / "yes" / "ok" (or "nej") in a visit room may answer a booking question."""
    if ctx.where is not Where.VISIT_ROOM:
        return False
    if is_yes(ctx.body):
        return await confirm(
            ctx.runtime, ctx.room.room_id, ctx.sender, _reply_target(ctx.event), answer_for(ctx)
        )
    if is_no(ctx.body):
        return await decline(
            ctx.runtime, ctx.room.room_id, ctx.sender, _reply_target(ctx.event), answer_for(ctx)
        )
    return False


async def on_reaction(runtime: BotRuntime, room: nio.MatrixRoom, event: nio.ReactionEvent) -> bool:
    """✅ / 👍 on a booking question confirms it; 👎 / ❌ says no."""
    key = event.key.strip()
    if key not in CONFIRM_REACTIONS and key not in DECLINE_REACTIONS:
        return False
    lang = await runtime.language_of(event.sender)
    answer = Answer(runtime, room.room_id, lang, event.event_id)
    if key in CONFIRM_REACTIONS:
        return await confirm(runtime, room.room_id, event.sender, event.reacts_to, answer)
    return await decline(runtime, room.room_id, event.sender, event.reacts_to, answer)


async def _proposals(
    runtime: BotRuntime, room_id: str, target: str | None
) -> tuple[VisitRoom | None, list[Booking]]:
    async with runtime.db.session() as session:
        room = await visit_room(session, room_id)
        query = select(Booking).where(Booking.room_id == room_id, Booking.state == PROPOSED)
        if target is not None:
            query = query.where(Booking.question_event_id == target)
        proposals = (await session.scalars(query.order_by(Booking.id.desc()))).all()
    return room, list(proposals)


async def confirm(
    runtime: BotRuntime, room_id: str, sender: str, target: str | None, answer: Answer
) -> bool:
    """The other person says yes: confirm, plan reminders, tell both, send the calendar.

    Answers False when there was nothing to confirm (the words were conversation).
    """
    room, proposals = await _proposals(runtime, room_id, target)
    if room is None or not room.active or not proposals:
        return False
    person = room.person(sender)
    if person is None:
        return False
    theirs = [b for b in proposals if b.booked_by != sender]
    if not theirs:
        await answer("booking_waiting.html", other=first_name(room.other(person)))
        return True
    now = runtime.clock.now()
    made: list[Reminder] = []
    async with runtime.db.session() as session:
        booking = await session.get(Booking, theirs[0].id)
        if booking is None or booking.state != PROPOSED:
            return False
        if booking.weekly and booking.starts_at <= now:
            # A weekly visit confirmed after its first time has passed starts next time.
            ahead = occurrences(visit_of(booking), now, now + timedelta(days=8))
            booking.starts_at = ahead[0] if ahead else booking.starts_at
        if booking.starts_at <= now:
            booking.state, booking.updated_at = CANCELLED, now
            number, late = booking.id, True
        else:
            booking.state, booking.confirmed_by, booking.updated_at = CONFIRMED, sender, now
            made = await plan_booking(
                session, booking, [p.id for p in room.people], now, runtime.settings.visits
            )
            number, late = booking.id, False
    if late:
        await answer("booking_too_late.html", number=number)
        return True
    schedule(runtime, made)
    await answer(
        "booking_confirmed.html",
        mentions=room.mentions,
        number=number,
        people=[pill(p) for p in room.people],
        lines=room.when(booking.starts_at, booking.weekly, answer.lang),
        duration=booking.duration_minutes,
        mode=_mode(booking.contact_mode),
        weekly=booking.weekly,
        first=_first_day(booking.starts_at, booking.zone, answer.lang) if booking.weekly else None,
    )
    try:
        await calendar.send_calendar(runtime, number)
    except Exception:
        # The booking stands; the next start sends a calendar file that never went out.
        log.exception("calendar failed", extra={"bot": "scheduler", "booking": number})
    return True


async def decline(
    runtime: BotRuntime, room_id: str, sender: str, target: str | None, answer: Answer
) -> bool:
    """The other person says no to a proposed time: it is dropped, kindly."""
    room, proposals = await _proposals(runtime, room_id, target)
    if room is None or not proposals:
        return False
    person = room.person(sender)
    if person is None:
        return False
    theirs = [b for b in proposals if b.booked_by != sender]
    if not theirs:
        return False
    async with runtime.db.session() as session:
        booking = await session.get(Booking, theirs[0].id)
        if booking is None or booking.state != PROPOSED:
            return False
        booking.state, booking.updated_at = CANCELLED, runtime.clock.now()
        booker = room.person(booking.booked_by)
    await answer(
        "booking_declined.html",
        mentions=[booker.matrix_id] if booker else [],
        number=booking.id,
        name=first_name(person),
        booker=pill(booker) if booker else None,
    )
    return True
