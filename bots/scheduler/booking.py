"""Booking visits in a visit room: `!besøg` / `!visit`, `!aflys` / `!cancel`, `!flyt` / `!move`.

Either person books with a time in everyday words; the bot says the time back in
words, in each person's own zone, and asks the other person to confirm with a word
("ja", "yes", "ok") or a ✅ / 👍 reaction on its question. The booker cannot confirm
their own booking. A confirmed visit gets its reminders and a calendar file.

Words are read as people type them (:mod:`bots.scheduler.reading`): a clear typo is
read, an unclear one is first put to the booker ("Mente du torsdag den 3. december
kl. 14.00?") and nothing is proposed without their yes. Without any command, a day
and a time arranged in chat ("Skal vi ses på torsdag kl 14?") get one quiet offer to
put it in the calendar; a yes or 👍 from either person proposes it as a booking.

A visit keeps its number when it moves: the new row a move makes carries the number
of the one it replaces (``Booking.visit_number``).

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
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bots.common.commands import Where
from bots.common.runtime import BotRuntime, MessageContext, txn_id
from bots.scheduler import calendar, silence
from bots.scheduler.dialogue import is_no, is_yes, plain
from bots.scheduler.reading import chat_offer, read_booking
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
)
from bots.scheduler.visit_room import VisitRoom, first_name, visit_room
from bots.scheduler.when_words import spell_out, spell_out_day, spell_out_weekly
from connec.models import Booking, Person, Reminder

log = logging.getLogger(__name__)

REF = "booking"  # the outbox ref of a question about a booking
PROPOSED, CONFIRMED, CANCELLED, MOVED = "proposed", "confirmed", "cancelled", "moved"
# Before a booking is proposed: a time seen in chat, or a reading to be checked.
OFFERED, UNSURE = "offered", "unsure"
OPEN = (PROPOSED, CONFIRMED)
CHECKING = (OFFERED, UNSURE)
# A plain "ja" answers a chat offer only this soon after it (a 👍 on it, any time).
OFFER_ANSWERED_WITHIN = timedelta(hours=2)
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
    """Read a time and store it: proposed to the other person, or, when a typo was not
    clear, first put to the booker ("Mente du …?"). ``replaces`` is the visit moved."""
    answer = answer_for(ctx)
    found = await _room_and_person(ctx, answer)
    if found is None:
        return
    room, booker = found
    now = ctx.runtime.clock.now()
    reading = read_booking(text, now, booker.timezone)
    request = reading.ask or reading.request
    if request.problem is not None or request.when is None:
        await _problem(answer, request, ctx.lang)
        return
    state = PROPOSED if reading.quiet else UNSURE
    when = request.when.astimezone(UTC)
    weekly = request.weekly or (replaces is not None and replaces.weekly)
    duration = request.duration_minutes
    if replaces is not None and duration == DEFAULT_DURATION_MINUTES:
        duration = replaces.duration_minutes
    mode = request.contact_mode or (replaces.contact_mode if replaces else None)
    dropped: list[int] = []
    async with ctx.runtime.db.session() as session:
        booking = await session.scalar(
            select(Booking).where(
                Booking.room_id == room.room_id,
                Booking.booked_by == ctx.sender,
                Booking.starts_at == when,
                Booking.state.in_((PROPOSED, UNSURE)),
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
                state=state,
                replaces_id=replaces.id if replaces else None,
                number=replaces.visit_number if replaces else None,
                created_at=now,
                updated_at=now,
            )
            session.add(booking)
            await session.flush()
            if state == PROPOSED and replaces is not None:
                dropped = await _retire(session, replaces.id, now)
        number, state = booking.id, booking.state
    unschedule(ctx.runtime, dropped)
    if state == UNSURE:
        await _ask_unsure(ctx.runtime, room, booker, number, answer)
    else:
        await _propose(ctx.runtime, room, booker, number, answer)


async def _retire(session: AsyncSession, booking_id: int, now: datetime) -> list[int]:
    """The old time of a moved visit: no longer open, its reminders cancelled."""
    row = await session.get(Booking, booking_id)
    if row is None or row.state not in OPEN:
        return []
    row.state, row.updated_at = MOVED, now
    return await cancel_reminders(session, row.id)


async def _ask_unsure(
    runtime: BotRuntime, room: VisitRoom, booker: Person, booking_id: int, answer: Answer
) -> None:
    """ "Mente du torsdag den 3. december kl. 14.00?" to the booker, before anything else."""
    async with runtime.db.session() as session:
        booking = await session.get(Booking, booking_id)
    assert booking is not None
    question = await answer(
        "booking_unsure.html",
        mentions=[booker.matrix_id],
        person=pill(booker),
        other=first_name(room.other(booker)),
        lines=room.when(booking.starts_at, booking.weekly, answer.lang),
        first=_first_day(booking.starts_at, booking.zone, answer.lang) if booking.weekly else None,
    )
    await _remember_question(runtime, booking_id, question)


async def _question(
    runtime: BotRuntime, room: VisitRoom, booker: Person, booking_id: int, lang: str
) -> dict[str, Any]:
    """What the question to confirm a proposed booking says, to the other person."""
    async with runtime.db.session() as session:
        booking = await session.get(Booking, booking_id)
        replaced = (
            await session.get(Booking, booking.replaces_id)
            if booking is not None and booking.replaces_id is not None
            else None
        )
    assert booking is not None
    other = room.other(booker)
    when, weekly = booking.starts_at, booking.weekly
    return {
        "mentions": [other.matrix_id],
        "number": booking.visit_number,
        "booker": first_name(booker),
        "other": pill(other),
        "lines": room.when(when, weekly, lang),
        "duration": booking.duration_minutes,
        "mode": _mode(booking.contact_mode),
        "weekly": weekly,
        "first": _first_day(when, booking.zone, lang) if weekly else None,
        "moved_from": replaced.visit_number if replaced else None,
    }


async def _propose(
    runtime: BotRuntime, room: VisitRoom, booker: Person, booking_id: int, answer: Answer
) -> None:
    """Ask the other person to confirm a proposed booking."""
    values = await _question(runtime, room, booker, booking_id, answer.lang)
    question = await answer("booking_proposed.html", **values)
    await _remember_question(runtime, booking_id, question)


async def ask_again(runtime: BotRuntime, matrix_id: str, device_ids: list[str]) -> None:
    """Someone signed in on a new device: each visit waiting for their yes is asked
    again in its visit room, readable there (a 👍 on the repeat confirms it)."""
    async with runtime.db.session() as session:
        waiting = (
            await session.execute(
                select(Booking.id, Booking.room_id, Booking.booked_by).where(
                    Booking.state == PROPOSED, Booking.booked_by != matrix_id
                )
            )
        ).all()
        rooms = {room_id: await visit_room(session, room_id) for _, room_id, _ in waiting}
    default = runtime.settings.language
    for booking_id, room_id, booked_by in waiting:
        room = rooms[room_id]
        if room is None or matrix_id not in room.mentions or not room.active:
            continue
        booker = next(p for p in room.people if p.matrix_id == booked_by)
        lang = room.language(default)
        values = await _question(runtime, room, booker, booking_id, lang)
        await runtime.post(
            room_id,
            "asked_again.html",
            lang,
            txn=txn_id("booking-again", str(booking_id), *device_ids),
            readers=[matrix_id],
            ref=f"{REF}:{booking_id}",
            question="booking_proposed.html",
            **values,
        )


async def _asked(runtime: BotRuntime, target: str) -> Any:
    """Which booking an event asked about: the question itself, or its repeat."""
    ref = await runtime.outbox.ref_of(target)
    again = int(ref.split(":")[1]) if ref is not None and ref.startswith(f"{REF}:") else None
    return or_(Booking.question_event_id == target, Booking.id == again)


async def _remember_question(runtime: BotRuntime, booking_id: int, question: str | None) -> None:
    """The bot's question about a booking, so a reply or reaction to it finds the booking."""
    if question is None:
        return
    async with runtime.db.session() as session:
        row = await session.get(Booking, booking_id)
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
                "number": booking.visit_number,
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


async def _current(session: AsyncSession, room_id: str, number: int) -> Booking | None:
    """Visit ``number`` in this room as it stands: its open row (a moved visit's newest),
    else its newest row of any kind."""
    rows = (
        await session.scalars(
            select(Booking)
            .where(
                Booking.room_id == room_id,
                func.coalesce(Booking.number, Booking.id) == number,
                Booking.state.not_in(CHECKING),
            )
            .order_by(Booking.id.desc())
        )
    ).all()
    return next((b for b in rows if b.state in OPEN), rows[0] if rows else None)


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
        booking = await _current(session, room.room_id, number)
    if booking is None:
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
        await answer("booking_not_found.html", number=booking.visit_number, usage="cancel")
        return
    now = ctx.runtime.clock.now()
    async with ctx.runtime.db.session() as session:
        row = await session.get(Booking, booking.id)
        assert row is not None
        row.state, row.updated_at = CANCELLED, now
        dropped = await cancel_reminders(session, row.id)
        # A question still open about this visit ("Mente du …?" on a move) goes with it.
        await session.execute(
            update(Booking)
            .where(
                Booking.room_id == room.room_id,
                func.coalesce(Booking.number, Booking.id) == booking.visit_number,
                Booking.state.in_(CHECKING),
            )
            .values(state=CANCELLED, updated_at=now)
        )
    unschedule(ctx.runtime, dropped)
    await answer(
        "booking_cancelled.html",
        mentions=room.mentions,
        number=booking.visit_number,
        by=first_name(person),
        people=[pill(p) for p in room.people],
        lines=room.when(_shown_time(booking, now), booking.weekly, ctx.lang),
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
    _, _, booking = found
    if not text:
        await answer("booking_which.html", usage="move")
        return
    if booking.state not in OPEN:
        await answer("booking_not_found.html", number=booking.visit_number, usage="move")
        return
    # The old time is let go only when the new one is proposed (a typo asks first), in
    # the same transaction; the same message again after a crash finds that proposal.
    await book(ctx, text, replaces=booking)


# --- Without a command: a day and a time arranged in chat ------------------------------------


async def offer(ctx: MessageContext) -> bool:
    """ "Skal vi ses på torsdag kl 14?": offer once, quietly, to put it in the calendar.

    Only a clear day and clock time still ahead (:func:`reading.chat_offer`), and only
    once for that time in this room, whatever became of it; nobody is mentioned.
    """
    if ctx.where is not Where.VISIT_ROOM:
        return False
    now = ctx.runtime.clock.now()
    async with ctx.runtime.db.session() as session:
        room = await visit_room(session, ctx.room.room_id)
    person = room.person(ctx.sender) if room is not None else None
    if room is None or not room.active or person is None:
        return False
    request = chat_offer(ctx.body, now, person.timezone)
    if request is None or request.when is None:
        return False
    when = request.when.astimezone(UTC)
    async with ctx.runtime.db.session() as session:
        known = await session.scalar(
            select(Booking.id).where(Booking.room_id == room.room_id, Booking.starts_at == when)
        )
        if known is not None:
            return False
        row = Booking(
            match_id=room.match.id,
            room_id=room.room_id,
            booked_by=ctx.sender,
            starts_at=when,
            zone=person.timezone,
            duration_minutes=request.duration_minutes,
            contact_mode=request.contact_mode,
            weekly=request.weekly,
            state=OFFERED,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        row_id = row.id
    lang = room.language(ctx.runtime.settings.language)
    question = await Answer(ctx.runtime, room.room_id, lang, ctx.event.event_id)(
        "booking_offer.html",
        lines=room.when(when, request.weekly, lang),
        first=_first_day(when, person.timezone, lang) if request.weekly else None,
    )
    await _remember_question(ctx.runtime, row_id, question)
    return True


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
            query = query.where(await _asked(runtime, target))
        proposals = (await session.scalars(query.order_by(Booking.id.desc()))).all()
    return room, list(proposals)


async def _checking(
    runtime: BotRuntime, room_id: str, sender: str, target: str | None
) -> Booking | None:
    """The question before a booking that a yes or no from ``sender`` answers: their own
    "Mente du …?", or a chat offer (to either person); the one replied to, else the newest.
    A plain answer counts for an offer only shortly after it."""
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        query = select(Booking).where(Booking.room_id == room_id, Booking.state.in_(CHECKING))
        if target is not None:
            query = query.where(await _asked(runtime, target))
        rows = (await session.scalars(query.order_by(Booking.id.desc()))).all()
    for row in rows:
        if row.state == UNSURE and row.booked_by != sender:
            continue
        if row.state == OFFERED and target is None and row.created_at < now - OFFER_ANSWERED_WITHIN:
            continue
        return row
    return None


def _newer(checking: Booking | None, proposals: list[Booking], sender: str) -> bool:
    """Whether the question before a booking is the latest thing a yes/no may answer."""
    theirs = [b.id for b in proposals if b.booked_by != sender]
    return checking is not None and (not theirs or checking.id > max(theirs))


async def _accept(runtime: BotRuntime, sender: str, row: Booking, answer: Answer) -> bool:
    """Yes to "Mente du …?" or to a chat offer: it becomes a booking the other confirms."""
    now = runtime.clock.now()
    dropped: list[int] = []
    async with runtime.db.session() as session:
        room = await visit_room(session, row.room_id)
        booking = await session.get(Booking, row.id)
        person = room.person(sender) if room is not None else None
        if room is None or not room.active or person is None or booking is None:
            return False
        if booking.state not in CHECKING:
            return False
        if booking.starts_at <= now:
            booking.state, booking.updated_at = CANCELLED, now
            late = True
        else:
            booking.state, booking.booked_by, booking.updated_at = PROPOSED, sender, now
            late = False
            dropped = (
                await _retire(session, booking.replaces_id, now) if booking.replaces_id else []
            )
        number = booking.visit_number
    if late:
        await answer("booking_too_late.html", number=number)
        return True
    unschedule(runtime, dropped)
    await _propose(runtime, room, person, row.id, answer)
    return True


async def _let_go(runtime: BotRuntime, row: Booking, answer: Answer, *, quiet: bool) -> bool:
    """No to "Mente du …?" (the booker is asked to write the time again) or to an offer."""
    async with runtime.db.session() as session:
        booking = await session.get(Booking, row.id)
        if booking is None or booking.state not in CHECKING:
            return False
        booking.state, booking.updated_at = CANCELLED, runtime.clock.now()
    if not quiet:
        await answer("booking_unsure_no.html")
    return True


async def confirm(
    runtime: BotRuntime, room_id: str, sender: str, target: str | None, answer: Answer
) -> bool:
    """The other person says yes: confirm, plan reminders, tell both, send the calendar.
    (A yes to a question before a booking makes it a booking; see :func:`_accept`.)

    Answers False when there was nothing to confirm (the words were conversation).
    """
    room, proposals = await _proposals(runtime, room_id, target)
    checking = await _checking(runtime, room_id, sender, target)
    if checking is not None and _newer(checking, proposals, sender):
        return await _accept(runtime, sender, checking, answer)
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
            number, late = booking.visit_number, True
        else:
            booking.state, booking.confirmed_by, booking.updated_at = CONFIRMED, sender, now
            made = await plan_booking(
                session, booking, [p.id for p in room.people], now, runtime.settings.visits
            )
            number, late = booking.visit_number, False
        booking_id = booking.id
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
        await calendar.send_calendar(runtime, booking_id)
    except Exception:
        # The booking stands; the next start sends a calendar file that never went out.
        log.exception("calendar failed", extra={"bot": "scheduler", "booking": booking_id})
    return True


async def decline(
    runtime: BotRuntime, room_id: str, sender: str, target: str | None, answer: Answer
) -> bool:
    """The other person says no to a proposed time: it is dropped, kindly. (A no to a
    question before a booking lets it go; a plain "nej" in chat is no answer to an offer.)"""
    room, proposals = await _proposals(runtime, room_id, target)
    checking = await _checking(runtime, room_id, sender, target)
    if checking is not None and checking.state == OFFERED and target is None:
        checking = None
    if checking is not None and _newer(checking, proposals, sender):
        return await _let_go(runtime, checking, answer, quiet=checking.state == OFFERED)
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
        number=booking.visit_number,
        name=first_name(person),
        booker=pill(booker) if booker else None,
    )
    return True
