"""Which reminders a visit has, when a late one is still worth sending, and the timer.

Pure functions over plain data, plus the APScheduler timer on a frozen clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bots.scheduler.reminders import (
    BEFORE,
    CHECKIN,
    SEND_RATE,
    Timer,
    Visit,
    next_occurrence,
    occurrence,
    plan,
    should_send,
)
from connec.clock import FrozenClock
from tests.harness import eventually

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
OFFSETS = [24 * 60, 15]
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=COPENHAGEN)  # Thursday morning
GRACE = timedelta(minutes=60)


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=COPENHAGEN)


def test_a_visit_tomorrow_gets_two_reminders_before_and_a_checkin_for_each_person() -> None:
    visit = Visit(local(2026, 11, 27, 14), "Europe/Copenhagen", 30, weekly=False)

    planned = plan(visit, [7, 8], NOW, OFFSETS, checkin_after_minutes=15)

    assert [(p.kind, p.offset_minutes, p.person_id) for p in planned] == [
        (BEFORE, 1440, None),
        (BEFORE, 15, None),
        (CHECKIN, 0, 7),
        (CHECKIN, 0, 8),
    ]
    assert planned[0].due_at == local(2026, 11, 26, 14)
    assert planned[1].due_at == local(2026, 11, 27, 13, 45)
    assert planned[2].due_at == local(2026, 11, 27, 14, 45)  # 30 minutes + 15 after
    assert {p.occurrence_at for p in planned} == {local(2026, 11, 27, 14)}


def test_a_visit_booked_an_hour_ahead_skips_the_reminder_that_is_already_past() -> None:
    visit = Visit(local(2026, 11, 26, 11), "Europe/Copenhagen", 30, weekly=False)

    planned = plan(visit, [1, 2], NOW, OFFSETS, 15)

    assert [p.offset_minutes for p in planned if p.kind == BEFORE] == [15]


def test_a_weekly_visit_keeps_its_wall_clock_time_across_the_autumn_change() -> None:
    # Wednesday 10:00 in summer time (+02:00); the clocks go back on 25 October 2026.
    visit = Visit(local(2026, 10, 21, 10), "Europe/Copenhagen", 30, weekly=True)

    second = occurrence(visit, 1)

    assert second.astimezone(COPENHAGEN) == local(2026, 10, 28, 10)
    assert second.astimezone(UTC).hour == 9  # +01:00 now; it was 08:00 UTC a week before


def test_a_weekly_visit_in_the_spring_gap_moves_forward_by_the_gap() -> None:
    # Sundays at 02:30; on 28 March 2027 02:30 does not exist in Copenhagen.
    visit = Visit(local(2027, 3, 21, 2, 30), "Europe/Copenhagen", 30, weekly=True)

    in_the_gap = occurrence(visit, 1).astimezone(COPENHAGEN)

    assert (in_the_gap.hour, in_the_gap.minute) == (3, 30)
    assert occurrence(visit, 2).astimezone(COPENHAGEN) == local(2027, 4, 4, 2, 30)


def test_a_weekly_visit_is_planned_about_a_week_ahead_and_again_as_time_goes_on() -> None:
    visit = Visit(local(2026, 12, 2, 10), "Europe/Copenhagen", 30, weekly=True)

    first = plan(visit, [1, 2], NOW, OFFSETS, 15)
    assert {p.occurrence_at for p in first} == {local(2026, 12, 2, 10)}

    # After the first visit's check-ins have fired, the next Wednesday is planned.
    later = local(2026, 12, 2, 10, 50)
    second = plan(visit, [1, 2], later, OFFSETS, 15)
    assert {p.occurrence_at for p in second} == {local(2026, 12, 9, 10)}
    assert len(second) == 4


def test_the_next_occurrence_is_the_coming_one_or_none_when_a_visit_is_over() -> None:
    once = Visit(local(2026, 11, 27, 14), "Europe/Copenhagen", 30, weekly=False)
    weekly = Visit(local(2026, 11, 18, 10), "Europe/Copenhagen", 60, weekly=True)

    assert next_occurrence(once, NOW) == local(2026, 11, 27, 14)
    assert next_occurrence(once, local(2026, 11, 27, 15)) is None
    assert next_occurrence(weekly, NOW) == local(2026, 12, 2, 10)
    # While a weekly visit is going on, that one is the next.
    assert next_occurrence(weekly, local(2026, 12, 2, 10, 30)) == local(2026, 12, 2, 10)


def test_a_late_reminder_is_sent_within_the_grace_and_before_the_visit_ends() -> None:
    start = local(2026, 11, 27, 14)
    due = start - timedelta(minutes=15)

    assert should_send(BEFORE, due, start, 30, due + timedelta(minutes=10), GRACE)
    # Past the grace: reported to the coordinators instead.
    assert not should_send(BEFORE, due, start, 30, due + timedelta(minutes=61), GRACE)
    # Within the grace but the visit is over: nothing to remind of.
    day_before = start - timedelta(days=1)
    assert not should_send(BEFORE, day_before, start, 30, start + timedelta(minutes=31), GRACE)


def test_a_late_checkin_is_still_welcome_for_a_day() -> None:
    start = local(2026, 11, 27, 14)
    due = start + timedelta(minutes=45)

    assert should_send(CHECKIN, due, start, 30, due + timedelta(hours=5), GRACE)
    assert not should_send(CHECKIN, due, start, 30, due + timedelta(hours=25), GRACE)


async def test_the_timer_fires_by_the_bots_clock_and_follows_it_when_it_moves() -> None:
    clock = FrozenClock(NOW)
    fired: list[int] = []

    async def fire(reminder_ids: list[int]) -> None:
        fired.extend(reminder_ids)

    timer = Timer(clock, fire)
    timer.start([(1, NOW), (2, NOW + timedelta(hours=1))])
    timer.add(3, NOW + timedelta(minutes=30))
    timer.remove(3)  # cancelled: never fires
    try:
        await fired_so_far(fired, [1])
        assert len(timer) == 1  # 2, due in an hour, waits: the clock stands still

        clock.advance(timedelta(hours=1))
        timer.clock_moved()
        # Had 3 not been removed, it would have fired before 2, which fell due after it.
        await fired_so_far(fired, [1, 2])
        assert len(timer) == 0
    finally:
        timer.shutdown()


async def test_a_reminder_whose_job_fails_does_not_stop_the_others() -> None:
    clock = FrozenClock(NOW)
    fired: list[int] = []
    tried: list[int] = []

    async def fire(reminder_ids: list[int]) -> None:
        tried.extend(reminder_ids)
        if 1 in reminder_ids:
            raise RuntimeError("Synapse said no")
        fired.extend(reminder_ids)

    timer = Timer(clock, fire)
    timer.start([(1, NOW), (2, NOW + timedelta(minutes=1))])
    try:
        await fired_so_far(tried, [1])
        clock.advance(timedelta(minutes=1))
        timer.clock_moved()
        await fired_so_far(fired, [2])
    finally:
        timer.shutdown()


async def fired_so_far(fired: list[int], expected: list[int]) -> None:
    """Wait (to a deadline, never a fixed time) until ``fired`` has grown to ``expected``;
    then it must be exactly that: nothing else, nothing twice."""

    async def grown() -> bool:
        return len(fired) >= len(expected)

    await eventually(grown, timeout=10, what=f"reminders {expected} to fire")
    assert fired == expected


async def test_a_crowded_minute_starts_early_enough_to_end_on_time_and_goes_together() -> None:
    """Forty visits at one minute: at SEND_RATE a second they take 39 / SEND_RATE
    seconds, so the timer starts on them that long before they fall due, all in one batch; a lone
    reminder the next minute keeps its own time."""
    clock = FrozenClock(NOW)
    fired: list[list[int]] = []

    async def fire(reminder_ids: list[int]) -> None:
        fired.append(sorted(reminder_ids))

    due = NOW + timedelta(minutes=5)
    timer = Timer(clock, fire)
    timer.start([(i, due) for i in range(1, 41)])
    timer.add(99, due + timedelta(minutes=1))
    ahead = timedelta(seconds=39 / SEND_RATE)
    try:
        assert timer.starts_at(40) == due - ahead
        assert timer.starts_at(99) == due + timedelta(minutes=1)
        clock.set(due - ahead)
        timer.clock_moved()
        await fired_so_far(fired, [list(range(1, 41))])
        assert len(timer) == 1  # the next minute's reminder waits for its own time
    finally:
        timer.shutdown()
