"""Reminders: which ones a visit has, and the timer that sends each exactly once.

Bookings and their reminders live in connec's own tables; those rows are the truth.
APScheduler 3 is only the timer: at start its jobs are rebuilt from the pending rows
(no pickled job store), and every booking change adds or removes jobs in step.

- Planning is pure (:func:`plan`): a confirmed visit has a reminder at each offset
  before it (in the visit room) and a check-in for each person after it (in their
  direct room). A weekly visit is planned a little more than a week ahead and
  planned again each time one of its reminders fires.
- A reminder is sent with the transaction ID ``txn_id("reminder", id)``, then marked
  sent with its event ID. A crash between the two resends with the same transaction
  ID, which Synapse answers with the first event instead of a second message.
- After a restart, a reminder that fell due while the bot was down is sent once if
  it is still useful (within ``late_grace_minutes`` and before the visit has ended);
  otherwise the coordinators are told. None is dropped without a word.
- A cancelled or moved visit's reminders are marked cancelled and their jobs removed;
  a job that fires anyway finds the row no longer pending and does nothing.
- Reminders that fall due together are sent in one batch (one read, one write), so
  many visits at the same hour do not make each other late.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bots.common.runtime import BotRuntime, txn_id
from bots.scheduler import checkin
from bots.scheduler.visit_room import (
    CircleRoom,
    VisitRoom,
    circle_room,
    first_name,
    room_of_booking,
)
from connec.clock import Clock
from connec.models import Booking, Circle, Match, Person, Reminder
from connec.settings import SchedulerBehaviour

log = logging.getLogger(__name__)

BEFORE = "before"
CHECKIN = "checkin"
# Reminder states.
PENDING, SENT, MISSED, CANCELLED = "pending", "sent", "missed_reported", "cancelled"
# A weekly visit's reminders are planned this far ahead, a little over a week, so the
# next week's are in place before this week's last one fires and plans again.
WEEKLY_HORIZON = timedelta(days=8)
# "How did it go?" is still welcome a day late, unlike "your visit starts in 15 minutes".
CHECKIN_GRACE = timedelta(hours=24)
WEEK = timedelta(days=7)
# How many missed reminders one report in the coordinators' room lists by name.
REPORT_LINES = 20
# The most reminders sent from one read of the tables.
BATCH = 200
# Rooms whose due reminders are sent side by side (Synapse exempts the bots from its
# rate limits, and persists the events of requests in flight together; measured with
# `connec bench scheduler --real`).
SEND_PARALLEL = 32
# How far ahead a room's key is shared with the members' devices, and how often.
PREPARE_AHEAD = timedelta(minutes=5)  # covers MAX_AHEAD and one PREPARE_EVERY
# Reminders a second Synapse takes on this machine, with room to spare: a minute with
# many due starts early enough to end on time, but never more than MAX_AHEAD early.
# `connec bench scheduler --real 100` on a quiet 2-core machine sent 100 in about 3 s
# (some 30 a second); with 1,000 due and 2,000 people's apps syncing (`--real 1000
# --postgres`) Synapse took 14.6 a second, and at 20 the last came 19 s late. 12
# leaves a fifth to spare at that size, and starts 100 reminders 8 s early.
SEND_RATE = 12.0
MAX_AHEAD = timedelta(minutes=3)
PREPARE_EVERY = timedelta(seconds=30)
_NEVER = datetime.min.replace(tzinfo=UTC)


def ahead_of(crowd: int) -> timedelta:
    """How early a minute with ``crowd`` reminders due is started, so that sending them
    all at ``SEND_RATE`` ends by their due time; never more than ``MAX_AHEAD``."""
    return min(MAX_AHEAD, timedelta(seconds=max(0, crowd - 1) / SEND_RATE))


# --- Pure planning -------------------------------------------------------------------


@dataclass(frozen=True)
class Visit:
    """What planning needs to know of a confirmed booking."""

    starts_at: datetime  # timezone-aware
    zone: str
    duration_minutes: int
    weekly: bool


@dataclass(frozen=True, order=True)
class PlannedReminder:
    """One reminder a visit should have."""

    due_at: datetime
    occurrence_at: datetime
    kind: str
    offset_minutes: int
    person_id: int | None

    @property
    def key(self) -> tuple[datetime, str, int, int | None]:
        return (self.occurrence_at, self.kind, self.offset_minutes, self.person_id)


def occurrence(visit: Visit, week: int) -> datetime:
    """The ``week``-th occurrence (0 is the first), in UTC.

    Weekly visits keep their wall-clock time in the visit's zone across daylight
    saving changes: 10:00 every Wednesday stays 10:00. A wall time that does not
    exist on the day (spring forward) moves forward by the gap, as the parser does.
    """
    if week == 0 or not visit.weekly:
        return visit.starts_at.astimezone(UTC)
    zone = ZoneInfo(visit.zone)
    first = visit.starts_at.astimezone(zone)
    day = first.date() + timedelta(days=7 * week)
    wall = datetime.combine(day, first.time(), tzinfo=zone)
    return wall.astimezone(UTC)


def occurrences(visit: Visit, since: datetime, until: datetime) -> list[datetime]:
    """The occurrences that start in ``[since, until]`` (UTC)."""
    if not visit.weekly:
        start = visit.starts_at.astimezone(UTC)
        return [start] if since <= start <= until else []
    # Start one week early: wall-clock arithmetic can shift an occurrence by an hour.
    week = max(0, (since - visit.starts_at).days // 7 - 1)
    found: list[datetime] = []
    while (at := occurrence(visit, week)) <= until:
        if at >= since:
            found.append(at)
        week += 1
    return found


def next_occurrence(visit: Visit, now: datetime) -> datetime | None:
    """The next time the visit starts (or is still going on), or None when it is over."""
    length = timedelta(minutes=visit.duration_minutes)
    if not visit.weekly:
        start = visit.starts_at.astimezone(UTC)
        return start if start + length > now else None
    found = occurrences(visit, now - length, now + WEEK + timedelta(days=1))
    return next((at for at in found if at + length > now), None)


def plan(
    visit: Visit,
    person_ids: Sequence[int],
    now: datetime,
    offsets_minutes: Sequence[int],
    checkin_after_minutes: int,
    horizon: timedelta = WEEKLY_HORIZON,
) -> list[PlannedReminder]:
    """The reminders a confirmed visit should have that are still ahead of ``now``.

    A reminder already due when the visit is confirmed (booked an hour ahead, so the
    24-hour reminder is past) is left out rather than sent at once: the confirmation
    itself says when the visit is.
    """
    length = timedelta(minutes=visit.duration_minutes)
    after = timedelta(minutes=checkin_after_minutes)
    earliest = timedelta(minutes=max(offsets_minutes, default=0))
    if visit.weekly:
        # Every occurrence not yet over whose first reminder is within the horizon.
        starts = occurrences(visit, now - length - after, now + horizon + earliest)
    else:
        starts = [visit.starts_at.astimezone(UTC)]
    planned: list[PlannedReminder] = []
    for start in starts:
        for offset in sorted(set(offsets_minutes), reverse=True):
            due = start - timedelta(minutes=offset)
            if due > now:
                planned.append(PlannedReminder(due, start, BEFORE, offset, None))
        due = start + length + after
        if due > now:
            planned.extend(PlannedReminder(due, start, CHECKIN, 0, p) for p in person_ids)
    return sorted(planned)


def should_send(
    kind: str,
    due_at: datetime,
    occurrence_at: datetime,
    duration_minutes: int,
    now: datetime,
    grace: timedelta,
) -> bool:
    """Is a reminder that is due (perhaps late) still worth sending now?

    A reminder before a visit is, within the grace and before the visit has ended
    (its words say how long is left, so a late one is still true). A check-in is
    welcome for a day.
    """
    late = now - due_at
    if kind == CHECKIN:
        return late <= max(grace, CHECKIN_GRACE)
    return late <= grace and now < occurrence_at + timedelta(minutes=duration_minutes)


# --- The timer ------------------------------------------------------------------------


def _job_id(reminder_id: int) -> str:
    return f"reminder-{reminder_id}"


class Timer:
    """APScheduler's asyncio scheduler, holding one job per pending reminder.

    A job that fires hands its reminder to one worker, which sends everything that
    has fallen due together: one read and one write for a batch instead of for each
    reminder, so a busy minute (many visits at 10:00) does not pile up lateness.

    Jobs run on the real clock; the bot's clock may be a test's frozen one, so each
    job's run time is "how long until it is due by the bot's clock" from the real now.
    When a test moves its clock it calls :meth:`clock_moved`.
    """

    def __init__(self, clock: Clock, fire: Callable[[list[int]], Awaitable[None]]) -> None:
        self._clock = clock
        self._fire = fire
        self._due: dict[int, datetime] = {}
        self._per_minute: Counter[datetime] = Counter()  # reminders due, by minute
        self._ready: list[int] = []
        self._worker: asyncio.Task[None] | None = None
        self._periodic: list[str] = []
        self._ran: dict[str, datetime] = {}  # periodic job -> the bot's time its last run began
        self._moved_to: datetime | None = None  # the bot's time when its clock last jumped
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            # Never skip a late job: lateness is judged against the tables, not here.
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )

    def __len__(self) -> int:
        return len(self._due)

    def _run_date(self, due_at: datetime) -> datetime:
        return datetime.now(UTC) + (due_at - self._clock.now())

    def _start_at(self, due_at: datetime) -> datetime:
        """When to start on a reminder: at its due time, or earlier when many fall due
        in the same minute (see :func:`ahead_of`)."""
        return due_at - ahead_of(self._per_minute[_minute(due_at)])

    def starts_at(self, reminder_id: int) -> datetime:
        """When (by the bot's clock) a pending reminder is started on, as things stand."""
        return self._start_at(self._due[reminder_id])

    def add(self, reminder_id: int, due_at: datetime) -> None:
        """A job for a pending reminder (replacing any earlier one for it)."""
        self.remove(reminder_id)
        self._due[reminder_id] = due_at
        self._per_minute[_minute(due_at)] += 1
        self._scheduler.add_job(
            self._run,
            DateTrigger(run_date=self._run_date(self._start_at(due_at)), timezone=UTC),
            args=[reminder_id],
            id=_job_id(reminder_id),
            replace_existing=True,
        )

    def remove(self, reminder_id: int) -> None:
        """No job for this reminder any more (cancelled, moved or handled)."""
        due_at = self._due.pop(reminder_id, None)
        if due_at is not None:
            self._per_minute[_minute(due_at)] -= 1
            # It may be running or have just run.
            with contextlib.suppress(JobLookupError):
                self._scheduler.remove_job(_job_id(reminder_id))

    def every(
        self, name: str, interval: timedelta, job: Callable[[], Awaitable[None]], first: timedelta
    ) -> None:
        """A periodic job (the care checks), first run after ``first``."""
        self._periodic.append(name)

        async def run() -> None:
            began = self._clock.now()
            await job()
            self._ran[name] = began

        self._scheduler.add_job(
            run,
            IntervalTrigger(seconds=interval.total_seconds(), timezone=UTC),
            id=name,
            next_run_time=datetime.now(UTC) + first,
        )

    def start(self, pending: Iterable[tuple[int, datetime]] = ()) -> None:
        """Add the jobs for ``pending`` reminders, then start; jobs added before start
        are inserted in one go instead of waking the scheduler for each."""
        for reminder_id, due_at in pending:
            self.add(reminder_id, due_at)
        self._scheduler.start()

    def clock_moved(self) -> None:
        """The bot's clock jumped (tests): re-time every job and run the periodic ones now."""
        self._moved_to = self._clock.now()
        for reminder_id, due_at in list(self._due.items()):
            try:
                self._scheduler.modify_job(
                    _job_id(reminder_id), next_run_time=self._run_date(self._start_at(due_at))
                )
            except JobLookupError:
                self._due.pop(reminder_id, None)
        for name in self._periodic:
            self._scheduler.modify_job(name, next_run_time=datetime.now(UTC))

    def caught_up(self) -> bool:
        """Whether everything due by the bot's clock has been handled: no reminder due
        still waiting, nothing being sent, and, after the clock jumped, every periodic
        job run through since. What a test waits for before it says nothing was sent."""
        now = self._clock.now()
        moved_to = self._moved_to
        return (
            not any(due <= now for due in self._due.values())
            and not self._ready
            and (self._worker is None or self._worker.done())
            and (
                moved_to is None
                or all(self._ran.get(name, _NEVER) >= moved_to for name in self._periodic)
            )
        )

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        if self._worker is not None:
            self._worker.cancel()

    async def _run(self, reminder_id: int) -> None:
        due_at = self._due.get(reminder_id)
        if due_at is None:
            return  # taken with its minute already
        # The whole minute goes together: the first of a crowded minute starts early
        # for all of them.
        minute = _minute(due_at)
        together = sorted((due, rid) for rid, due in self._due.items() if _minute(due) == minute)
        for _, rid in together:
            self.remove(rid)
            self._ready.append(rid)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._send_ready(), name="scheduler:reminders")

    async def _send_ready(self) -> None:
        while self._ready:
            batch, self._ready = self._ready[:BATCH], self._ready[BATCH:]
            try:
                await self._fire(batch)
            except Exception:
                # The rows stay pending: the next start sends them or reports them.
                log.exception("reminders failed", extra={"bot": "scheduler", "reminders": batch})


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def timer_of(runtime: BotRuntime) -> Timer | None:
    """The running bot's timer (None before start or in a bot without one)."""
    timer = getattr(runtime.bot, "timer", None)
    return timer if isinstance(timer, Timer) else None


# --- The tables -------------------------------------------------------------------


def checked_in(room: VisitRoom | CircleRoom) -> list[int]:
    """Who is asked how it went after each time: both of a pair. A circle's members
    are cared for by who keeps coming (``gatherings.py``), not asked each week."""
    return [p.id for p in room.people] if isinstance(room, VisitRoom) else []


def visit_of(booking: Booking) -> Visit:
    return Visit(booking.starts_at, booking.zone, booking.duration_minutes, booking.weekly)


async def plan_booking(
    session: AsyncSession,
    booking: Booking,
    person_ids: Sequence[int],
    now: datetime,
    behaviour: SchedulerBehaviour,
) -> list[Reminder]:
    """Store the reminders a confirmed booking should have and does not yet have."""
    planned = plan(
        visit_of(booking),
        person_ids,
        now,
        behaviour.reminder_offsets_minutes,
        behaviour.checkin_after_minutes,
    )
    if not planned:
        return []
    have = (
        await session.execute(
            select(
                Reminder.occurrence_at, Reminder.kind, Reminder.offset_minutes, Reminder.person_id
            ).where(Reminder.booking_id == booking.id)
        )
    ).all()
    known = {tuple(row) for row in have}
    made = [
        Reminder(
            booking_id=booking.id,
            occurrence_at=p.occurrence_at,
            kind=p.kind,
            offset_minutes=p.offset_minutes,
            person_id=p.person_id,
            due_at=p.due_at,
            state=PENDING,
        )
        for p in planned
        if p.key not in known
    ]
    session.add_all(made)
    await session.flush()
    return made


async def cancel_reminders(session: AsyncSession, booking_id: int) -> list[int]:
    """Mark a booking's pending reminders cancelled; answers their IDs (to drop the jobs)."""
    pending = (
        await session.scalars(
            select(Reminder).where(Reminder.booking_id == booking_id, Reminder.state == PENDING)
        )
    ).all()
    for reminder in pending:
        reminder.state = CANCELLED
    return [r.id for r in pending]


async def pending_reminders(runtime: BotRuntime) -> list[tuple[int, datetime]]:
    """Every pending reminder as (id, due), oldest first: what the timer is built from."""
    async with runtime.db.session() as session:
        rows = (
            await session.execute(
                select(Reminder.id, Reminder.due_at)
                .where(Reminder.state == PENDING)
                .order_by(Reminder.due_at)
            )
        ).all()
    return [(row[0], row[1]) for row in rows]


def schedule(runtime: BotRuntime, reminders: Iterable[Reminder]) -> None:
    """Jobs for reminders just stored (after their transaction committed)."""
    timer = timer_of(runtime)
    if timer is not None:
        for reminder in reminders:
            timer.add(reminder.id, reminder.due_at)


def unschedule(runtime: BotRuntime, reminder_ids: Iterable[int]) -> None:
    timer = timer_of(runtime)
    if timer is not None:
        for reminder_id in reminder_ids:
            timer.remove(reminder_id)


# --- Firing -------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """A pending reminder with what sending it needs, read in one transaction."""

    reminder: Reminder
    booking: Booking
    room: VisitRoom | CircleRoom


async def _load_due(runtime: BotRuntime, reminder_ids: Sequence[int]) -> list[Due]:
    """The reminders still pending, with their bookings and people, in one transaction.

    A reminder whose visit was cancelled or moved, or whose match is paused or
    ended, is marked cancelled here: it never fires.
    """
    async with runtime.db.session() as session:
        rows = (
            await session.scalars(
                select(Reminder)
                .where(Reminder.id.in_(reminder_ids), Reminder.state == PENDING)
                .order_by(Reminder.due_at)
            )
        ).all()
        booking_ids = {r.booking_id for r in rows}
        bookings = {
            b.id: b
            for b in (await session.scalars(select(Booking).where(Booking.id.in_(booking_ids))))
        }
        match_ids = {b.match_id for b in bookings.values() if b.match_id is not None}
        matches = {
            m.id: m for m in (await session.scalars(select(Match).where(Match.id.in_(match_ids))))
        }
        person_ids = {p for m in matches.values() for p in (m.a_id, m.b_id)}
        people = {
            p.id: p
            for p in (await session.scalars(select(Person).where(Person.id.in_(person_ids))))
        }
        circles = {
            c.id: await circle_room(session, c)
            for c in await session.scalars(
                select(Circle).where(
                    Circle.id.in_({b.circle_id for b in bookings.values() if b.circle_id})
                )
            )
        }
        due: list[Due] = []
        for reminder in rows:
            booking = bookings.get(reminder.booking_id)
            if booking is not None and booking.circle_id is not None:
                # A circle's gathering: one reminder in its room for everyone.
                gathering = circles.get(booking.circle_id)
                if gathering is None or booking.state != "confirmed" or not gathering.active:
                    reminder.state = CANCELLED
                else:
                    due.append(Due(reminder, booking, gathering))
                continue
            match = matches.get(booking.match_id) if booking and booking.match_id else None
            a = people.get(match.a_id) if match else None
            b = people.get(match.b_id) if match else None
            if booking is None or match is None or a is None or b is None:
                reminder.state = CANCELLED
                continue
            room = VisitRoom(match, a, b)
            if booking.state != "confirmed" or match.room_id is None or not room.active:
                reminder.state = CANCELLED
                continue
            due.append(Due(reminder, booking, room))
    return due


def _mode_word(mode: str | None) -> str | None:
    return "voice" if mode == "call" else mode


async def send_before(runtime: BotRuntime, due: Due) -> str | None:
    """The reminder in the visit room, mentioning both, saying how they will talk."""
    room, booking = due.room, due.booking
    lang = room.language(runtime.settings.language)
    left = due.reminder.occurrence_at - runtime.clock.now()
    minutes = max(0, round(left.total_seconds() / 60))
    return await runtime.post(
        room.room_id,
        "gathering_reminder.html" if isinstance(room, CircleRoom) else "reminder.html",
        lang,
        txn=txn_id("reminder", str(due.reminder.id)),
        readers=None,
        # "Your visit starts in 15 minutes" is no use once the visit is over.
        expires_at=due.reminder.occurrence_at + timedelta(minutes=booking.duration_minutes),
        mentions=room.mentions,
        people=[{"id": p.matrix_id, "name": first_name(p)} for p in room.people],
        number=booking.visit_number,
        lines=room.when(due.reminder.occurrence_at, False, lang),
        minutes=minutes if minutes <= 90 else None,
        mode=_mode_word(booking.contact_mode),
        duration=booking.duration_minutes,
    )


async def fire(runtime: BotRuntime, reminder_ids: Sequence[int]) -> None:
    """Send reminders that are due, each once; tell the coordinators of any too late.

    The timer's worker and the catch-up after a start both come here. Rooms are served
    side by side (at most ``SEND_PARALLEL`` at once), each room's reminders in order;
    everyone's devices are looked up once, before, not room by room.
    """
    now = runtime.clock.now()
    grace = timedelta(minutes=runtime.settings.visits.late_grace_minutes)
    sent: dict[int, str | None] = {}
    missed: list[Due] = []
    # Reminders before visits first: a check-in may first open a direct room.
    ready = sorted(await _load_due(runtime, reminder_ids), key=lambda d: d.reminder.kind != BEFORE)
    queues: dict[object, list[Due]] = {}
    for due in ready:
        r = due.reminder
        if not should_send(
            r.kind, r.due_at, r.occurrence_at, due.booking.duration_minutes, now, grace
        ):
            missed.append(due)
        else:
            # One queue a room (a check-in goes to its person's direct room).
            key = ("person", r.person_id) if r.kind == CHECKIN else due.room.room_id
            queues.setdefault(key, []).append(due)
    await runtime.outbox.look_up(
        {p.matrix_id for items in queues.values() for due in items for p in due.room.people}
    )
    gate = asyncio.Semaphore(SEND_PARALLEL)

    async def serve(items: list[Due]) -> None:
        async with gate:
            for due in items:
                r, booking = due.reminder, due.booking
                try:
                    if r.kind == CHECKIN:
                        assert isinstance(due.room, VisitRoom)  # circles have no check-ins
                        handled, event_id = await checkin.ask(runtime, r, booking, due.room)
                    else:
                        # Posted is handled: the outbox sends it once someone can read it.
                        event_id = await send_before(runtime, due)
                        handled = True
                except Exception:
                    log.exception("reminder failed", extra={"bot": "scheduler", "reminder": r.id})
                    continue
                if handled:  # otherwise the row stays pending for the next start
                    sent[r.id] = event_id

    await asyncio.gather(*(serve(items) for items in queues.values()))
    await _mark_sent(runtime, sent)
    await report_missed(runtime, missed)


async def prepare_upcoming(runtime: BotRuntime) -> None:
    """Do the slow part of sending before it is due: for each visit room with a
    reminder coming within ``PREPARE_AHEAD``, share the room's key with the members'
    current devices now, so that at the due instant sending is encrypt-and-post."""
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        rooms = (
            await session.scalars(
                select(Booking.room_id)
                .join(Reminder, Reminder.booking_id == Booking.id)
                .where(
                    Reminder.state == PENDING,
                    Reminder.kind == BEFORE,
                    Reminder.due_at > now,
                    Reminder.due_at <= now + PREPARE_AHEAD,
                )
                .distinct()
            )
        ).all()
    await runtime.outbox.prepare(list(rooms))


async def _mark_sent(runtime: BotRuntime, sent: dict[int, str | None]) -> None:
    """Mark reminders sent with their event IDs; close one-off visits that are over."""
    if not sent:
        return
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        rows = (
            await session.scalars(
                select(Reminder).where(Reminder.id.in_(sent), Reminder.state == PENDING)
            )
        ).all()
        for reminder in rows:
            reminder.state, reminder.event_id, reminder.sent_at = SENT, sent[reminder.id], now
        booking_ids = {r.booking_id for r in rows}
        await session.flush()
        open_ids = set(
            (
                await session.scalars(
                    select(Reminder.booking_id).where(
                        Reminder.booking_id.in_(booking_ids), Reminder.state == PENDING
                    )
                )
            ).all()
        )
        weekly: list[int] = []
        for booking in await session.scalars(select(Booking).where(Booking.id.in_(booking_ids))):
            if booking.state != "confirmed":
                continue
            if booking.weekly:
                weekly.append(booking.id)
            elif booking.id not in open_ids and now >= booking.starts_at + timedelta(
                minutes=booking.duration_minutes
            ):
                booking.state = "done"
    for booking_id in weekly:
        await after_fire(runtime, booking_id)


async def after_fire(runtime: BotRuntime, booking_id: int) -> None:
    """Plan a weekly visit's next reminders (after one fired, and at start)."""
    async with runtime.db.session() as session:
        booking = await session.get(Booking, booking_id)
        if booking is None or booking.state != "confirmed" or not booking.weekly:
            return
        room = await room_of_booking(session, booking)
        if room is None:
            return
        made = await plan_booking(
            session,
            booking,
            checked_in(room),
            runtime.clock.now(),
            runtime.settings.visits,
        )
    schedule(runtime, made)


async def report_missed(runtime: BotRuntime, missed: Sequence[Due]) -> None:
    """Tell the coordinators which reminders came too late to send, in one message."""
    if not missed:
        return
    ids = sorted(d.reminder.id for d in missed)
    if runtime.coordinators_room_id is None:
        log.error("reminders missed and no coordinators' room", extra={"reminders": ids})
        return
    lang = runtime.settings.language
    lines = [
        {
            "number": d.booking.visit_number,
            "a": first_name(d.room.a),
            "b": first_name(d.room.b),
            "when": d.room.when(d.reminder.occurrence_at, False, lang)[0]["when"],
            "kind": d.reminder.kind,
            "offset": d.reminder.offset_minutes,
            "person": next(
                (first_name(p) for p in d.room.people if p.id == d.reminder.person_id), ""
            ),
        }
        for d in sorted(missed, key=lambda d: d.reminder.due_at)
    ]
    event_id = await runtime.post(
        runtime.coordinators_room_id,
        "reminders_missed.html",
        lang,
        txn=txn_id("missed", ",".join(map(str, ids))),
        readers=None,
        lines=lines[:REPORT_LINES],
        more=max(0, len(lines) - REPORT_LINES),
        count=len(lines),
    )
    # Posted is told: the report waits in the outbox until a coordinator can read it.
    async with runtime.db.session() as session:
        for reminder in (await session.scalars(select(Reminder).where(Reminder.id.in_(ids)))).all():
            if reminder.state == PENDING:
                reminder.state, reminder.event_id = MISSED, event_id
                reminder.sent_at = runtime.clock.now()


async def resume(runtime: BotRuntime, overdue: Sequence[int]) -> None:
    """After a start: send what fell due while down and is still useful, report the rest,
    and plan weekly visits ahead. Runs as a background task (check-ins wait for sync)."""
    for start in range(0, len(overdue), BATCH):
        await fire(runtime, overdue[start : start + BATCH])
    async with runtime.db.session() as session:
        weekly = (
            await session.scalars(
                select(Booking.id).where(Booking.state == "confirmed", Booking.weekly.is_(True))
            )
        ).all()
    for booking_id in weekly:
        await after_fire(runtime, booking_id)


async def start_timer(runtime: BotRuntime, timer: Timer) -> list[int]:
    """Build the timer from the tables; answers the overdue reminders for :func:`resume`."""
    now = runtime.clock.now()
    pending = await pending_reminders(runtime)
    overdue = [rid for rid, due in pending if due <= now]
    timer.start((rid, due) for rid, due in pending if due > now)
    log.info(
        "timer started",
        extra={"bot": "scheduler", "jobs": len(pending) - len(overdue), "overdue": len(overdue)},
    )
    return overdue
