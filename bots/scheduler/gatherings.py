"""A circle's gatherings: `!samling` / `!gathering`, and noticing who stops coming.

The host books a gathering in the circle's room with a time in everyday words, read
by the same reader as visits ("hver tirsdag kl 14"); it is agreed at once (the host
decides for the circle), and everyone gets the same reminders before each time, one
message in the room, and one calendar file, each exactly once (the reminder rows and
their transaction IDs, as for visits). Times are said once per time zone among the
members, so someone abroad reads their own clock.

Care is private: someone who has not written in the circle through three of its
gatherings gets a kind word in their own direct room, once, never in the circle.
"""

from __future__ import annotations

import logging
from datetime import UTC, timedelta

from sqlalchemy import func, select, update

from bots.common.commands import Where
from bots.common.runtime import BotRuntime, MessageContext, txn_id
from bots.scheduler import calendar
from bots.scheduler.booking import LIST_WORDS, SAME_BOOKING_WINDOW, Answer, answer_for, pill
from bots.scheduler.dialogue import plain
from bots.scheduler.reading import read_booking
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
from bots.scheduler.visit_room import CircleRoom, circle_room_in
from bots.scheduler.when_words import spell_out, spell_out_weekly
from connec.models import Booking, Circle, CircleMember, Person

log = logging.getLogger(__name__)

CONFIRMED = "confirmed"
# Gatherings someone may miss, without a word in the circle, before a kind word privately.
MISSED_BEFORE_NOTICED = 3
CANCEL_WORDS = frozenset({"aflys", "cancel", "slet", "delete"})


@COMMANDS.command(
    "gathering",
    da=("samling", "samlinger"),
    en=("gathering", "gatherings"),
    help="In a circle: the host books a gathering, e.g. “!gathering every Tuesday 2pm”, or "
    "calls one off (“!gathering cancel 3”); alone, it lists them",
    args="[when]",
    where=Where.VISIT_ROOM,
)
async def gathering_command(ctx: MessageContext) -> None:
    answer = answer_for(ctx)
    async with ctx.runtime.db.session() as session:
        room = await circle_room_in(session, ctx.room.room_id)
    if room is None or not room.active:
        await answer("gathering_not_here.html")
        return
    person = room.person(ctx.sender)
    if person is None:
        await answer("booking_not_yours.html")
        return
    await note_presence(ctx.runtime, ctx.room.room_id, ctx.sender)
    word, _, rest = plain(ctx.args).partition(" ")
    if not ctx.args or plain(ctx.args) in LIST_WORDS:
        await list_gatherings(ctx, room, person, answer)
    elif not room.is_host(person):
        host = room.host
        await answer("gathering_host_only.html", host=pill(host) if host else None)
    elif word in CANCEL_WORDS:
        await cancel(ctx, room, rest, answer)
    else:
        await book(ctx, room, person, answer)


async def cancel(ctx: MessageContext, room: CircleRoom, number: str, answer: Answer) -> None:
    """The host calls a gathering off (a weekly one altogether): its reminders are
    cancelled, and everyone is told in the circle."""
    number = number.strip().lstrip("#")
    if not number.isdigit():
        await answer("gathering_which.html", number=None)
        return
    now = ctx.runtime.clock.now()
    async with ctx.runtime.db.session() as session:
        booking = await session.scalar(
            select(Booking).where(
                Booking.room_id == room.room_id,
                func.coalesce(Booking.number, Booking.id) == int(number),
                Booking.state == CONFIRMED,
            )
        )
        if booking is None:
            await answer("gathering_which.html", number=int(number))
            return
        booking.state, booking.updated_at = "cancelled", now
        dropped = await cancel_reminders(session, booking.id)
    unschedule(ctx.runtime, dropped)
    await answer(
        "gathering_cancelled.html",
        mentions=room.mentions,
        number=int(number),
        topic=room.circle.topic,
    )


async def book(ctx: MessageContext, room: CircleRoom, host: Person, answer: Answer) -> None:
    """The host's time, agreed at once: reminders planned, everyone told, the calendar."""
    runtime = ctx.runtime
    now = runtime.clock.now()
    reading = read_booking(ctx.args, now, host.timezone)
    request = reading.ask or reading.request
    if request.problem is not None or request.when is None or not reading.quiet:
        # An unclear time is never booked for a whole circle: the host writes it again.
        await answer("gathering_unclear.html")
        return
    when = request.when.astimezone(UTC)
    async with runtime.db.session() as session:
        booking = await session.scalar(
            select(Booking).where(
                Booking.room_id == room.room_id,
                Booking.booked_by == ctx.sender,
                Booking.starts_at == when,
                Booking.state == CONFIRMED,
                Booking.created_at >= now - SAME_BOOKING_WINDOW,
            )
        )
        if booking is None:  # the same message handled again after a crash finds it
            booking = Booking(
                circle_id=room.circle.id,
                room_id=room.room_id,
                booked_by=ctx.sender,
                starts_at=when,
                zone=host.timezone,
                duration_minutes=request.duration_minutes,
                contact_mode=request.contact_mode,
                weekly=request.weekly,
                state=CONFIRMED,
                confirmed_by=ctx.sender,
                created_at=now,
                updated_at=now,
            )
            session.add(booking)
            await session.flush()
        made = await plan_booking(session, booking, [], now, runtime.settings.visits)
        booking_id, number, weekly = booking.id, booking.visit_number, booking.weekly
    schedule(runtime, made)
    lang = room.language(runtime.settings.language)
    await answer(
        "gathering_booked.html",
        mentions=room.mentions,
        topic=room.circle.topic,
        number=number,
        lines=room.when(when, weekly, lang),
        weekly=weekly,
    )
    await calendar.send_calendar(runtime, booking_id)


async def list_gatherings(
    ctx: MessageContext, room: CircleRoom, person: Person, answer: Answer
) -> None:
    """The circle's next gatherings, in the asking person's own zone and language."""
    now = ctx.runtime.clock.now()
    async with ctx.runtime.db.session() as session:
        bookings = (
            await session.scalars(
                select(Booking).where(Booking.room_id == room.room_id, Booking.state == CONFIRMED)
            )
        ).all()
    upcoming = sorted(
        ((at, b) for b in bookings if (at := next_occurrence(visit_of(b), now)) is not None),
        key=lambda pair: pair[0],
    )
    items = [
        {
            "number": b.visit_number,
            "when": spell_out(at, ctx.lang, person.timezone),
            "every": spell_out_weekly(at, ctx.lang, person.timezone) if b.weekly else None,
        }
        for at, b in upcoming
    ]
    await answer("gathering_list.html", items=items, host=room.is_host(person))


async def note_presence(runtime: BotRuntime, room_id: str, sender: str) -> None:
    """Someone wrote in a circle: they are there (the count of missed gatherings restarts)."""
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        circle_id = await session.scalar(select(Circle.id).where(Circle.room_id == room_id))
        if circle_id is None:
            return
        person_id = await session.scalar(select(Person.id).where(Person.matrix_id == sender))
        await session.execute(
            update(CircleMember)
            .where(CircleMember.circle_id == circle_id, CircleMember.person_id == person_id)
            .values(last_seen_at=now, noticed_at=None)
        )
        await session.execute(
            update(Circle).where(Circle.id == circle_id).values(last_activity_at=now)
        )


async def check(runtime: BotRuntime) -> None:
    """The care job for circles: a kind private word to whoever has stopped coming."""
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        circles = (await session.scalars(select(Circle).where(Circle.state == "introduced"))).all()
        bookings = (
            await session.scalars(
                select(Booking).where(
                    Booking.circle_id.in_([c.id for c in circles]),
                    Booking.state.in_((CONFIRMED, "done")),
                )
            )
        ).all()
        members = (
            await session.execute(
                select(CircleMember, Person)
                .join(Person, Person.id == CircleMember.person_id)
                .where(
                    CircleMember.circle_id.in_([c.id for c in circles]),
                    CircleMember.state == "yes",
                    CircleMember.role == "member",
                    CircleMember.noticed_at.is_(None),
                )
            )
        ).all()
    by_circle: dict[int, list[Booking]] = {}
    for booking in bookings:
        by_circle.setdefault(booking.circle_id or 0, []).append(booking)
    topics = {c.id: c.topic for c in circles}
    for member, person in members:
        since = member.last_seen_at or member.invited_at or member.answered_at
        if since is None:
            continue
        held = [
            at
            for b in by_circle.get(member.circle_id, [])
            for at in occurrences(visit_of(b), since, now)
            if at + timedelta(minutes=b.duration_minutes) <= now
        ]
        if len(held) < MISSED_BEFORE_NOTICED:
            continue
        await runtime.send_direct(
            person.matrix_id,
            "gathering_missed_you.html",
            txn=txn_id("circle-missed", str(member.id), since.isoformat()),
            topic=topics[member.circle_id],
        )
        async with runtime.db.session() as session:
            row = await session.get(CircleMember, member.id)
            if row is not None:
                row.noticed_at = now
