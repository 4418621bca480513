"""Reminders arrive in the visit room once, whatever happens to the bot in between.

The bot's clock is frozen and moved by the test, so reminders a day ahead fall due
in seconds; the timer follows the bot's clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bots.scheduler.reminders import CANCELLED, MISSED, PENDING, SENT, timer_of
from connec.clock import FrozenClock
from connec.models import Reminder
from tests.bots.conftest import RunningBot
from tests.bots.scheduler.conftest import Inbox, VisitPair, bookings_in, reminders_of, say
from tests.harness import eventually

pytestmark = pytest.mark.synapse

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
# Visits tomorrow at 14:00; the 24-hour reminder is due today at 14:00.
TODAY_AT_TWO = datetime(2026, 11, 26, 14, 0, tzinfo=COPENHAGEN)


async def booked_and_confirmed(bot: RunningBot, pair: VisitPair, db) -> int:
    """Karen books tomorrow at 14 and John says yes; answers the booking's number."""
    karen = Inbox(pair.a, bot.user_id)
    john = Inbox(pair.b, bot.user_id)
    await say(pair.a, pair.room_id, "!besøg i morgen kl 14 video")
    await john.wait_text(pair.room_id, "foreslår et besøg")
    await say(pair.b, pair.room_id, "ja")
    await karen.wait_text(pair.room_id, "er aftalt")
    [booking] = await bookings_in(db, pair.room_id)
    return booking.id


def move_to(bot: RunningBot, clock: FrozenClock, when: datetime) -> None:
    clock.set(when)
    timer = timer_of(bot.runtime)
    assert timer is not None
    timer.clock_moved()


async def test_both_reminders_arrive_in_the_room_mentioning_both_and_how_they_meet(
    scheduler, visit_pair, db
) -> None:
    clock = FrozenClock(datetime(2026, 11, 26, 10, 0, tzinfo=COPENHAGEN))
    bot = await scheduler(clock=clock)
    pair = await visit_pair("karen", "john")
    number = await booked_and_confirmed(bot, pair, db)
    karen = Inbox(pair.a, bot.user_id)

    move_to(bot, clock, TODAY_AT_TWO - timedelta(seconds=2))
    day_before = await karen.wait_text(pair.room_id, f"påmindelse om besøg {number}")
    assert "fredag den 27. november kl. 14.00" in day_before.body
    assert "kameraknappen" in day_before.body  # how they will talk: video
    assert set(day_before.source["content"]["m.mentions"]["user_ids"]) == {
        pair.a.user_id,
        pair.b.user_id,
    }

    move_to(bot, clock, TODAY_AT_TWO + timedelta(days=1, minutes=-15, seconds=-1))
    soon = await karen.wait_text(pair.room_id, "begynder om 15 minutter")
    assert "fredag den 27. november kl. 14.00" in soon.body

    # The message reaches the room a moment before its row is marked sent.
    async def both_marked() -> list[Any] | None:
        before = [r for r in await reminders_of(db, number) if r.kind == "before"]
        return before if [r.state for r in before] == [SENT, SENT] else None

    before = await eventually(both_marked, what="both reminders marked sent")
    assert {r.event_id for r in before} == {day_before.event_id, soon.event_id}


async def test_the_bot_killed_between_booking_and_reminder_sends_it_exactly_once_after(
    scheduler, visit_pair, db
) -> None:
    clock = FrozenClock(datetime(2026, 11, 26, 10, 0, tzinfo=COPENHAGEN))
    bot = await scheduler(clock=clock)
    pair = await visit_pair("hanne", "mads")
    number = await booked_and_confirmed(bot, pair, db)
    await bot.kill()

    # Down while the 24-hour reminder fell due; back ten minutes later (grace: 60).
    clock.set(TODAY_AT_TWO + timedelta(minutes=10))
    again = await scheduler(clock=clock)
    hanne = Inbox(pair.a, again.user_id)
    reminder = await hanne.wait_text(pair.room_id, f"påmindelse om besøg {number}")
    assert "fredag den 27. november kl. 14.00" in reminder.body
    assert await hanne.count(pair.room_id, f"påmindelse om besøg {number}", once=again) == 1

    rows = await reminders_of(db, number)
    day_before = next(r for r in rows if r.offset_minutes == 1440)
    assert day_before.state == SENT and day_before.event_id == reminder.event_id
    # The 15-minute reminder is still ahead, waiting in the rebuilt timer.
    soon = next(r for r in rows if r.offset_minutes == 15)
    assert soon.state == PENDING
    timer = timer_of(again.runtime)
    assert timer is not None and len(timer) >= 3


async def test_a_reminder_sent_but_not_marked_before_a_crash_is_not_sent_twice(
    scheduler, visit_pair, db
) -> None:
    clock = FrozenClock(datetime(2026, 11, 26, 10, 0, tzinfo=COPENHAGEN))
    bot = await scheduler(clock=clock)
    pair = await visit_pair("kirsten", "ole")
    number = await booked_and_confirmed(bot, pair, db)
    kirsten = Inbox(pair.a, bot.user_id)
    move_to(bot, clock, TODAY_AT_TWO - timedelta(seconds=1))
    first = await kirsten.wait_text(pair.room_id, f"påmindelse om besøg {number}")

    async def marked() -> bool:
        rows = await reminders_of(db, number)
        return any(r.offset_minutes == 1440 and r.state == SENT for r in rows)

    await eventually(marked, what="the reminder marked sent")
    await bot.kill()

    # As if the crash came after Synapse had the message but before it was marked sent.
    async with db.session() as session:
        row = await session.scalar(
            select(Reminder).where(Reminder.booking_id == number, Reminder.offset_minutes == 1440)
        )
        assert row is not None and row.event_id == first.event_id
        row.state, row.event_id, row.sent_at = PENDING, None, None

    clock.set(TODAY_AT_TWO + timedelta(minutes=1))
    again = await scheduler(clock=clock)
    assert pair.room_id in again.runtime.client.rooms

    async def marked_again() -> Reminder | None:
        async with db.session() as session:
            found = await session.get(Reminder, row.id)
        return found if found is not None and found.state == SENT else None

    resent = await eventually(marked_again, what="the reminder marked sent again")
    # Same transaction ID, so Synapse answered with the first message, not a second one.
    assert resent.event_id == first.event_id
    assert await kirsten.count(pair.room_id, f"påmindelse om besøg {number}", once=again) == 1
    await again.stop()


async def test_a_reminder_too_late_after_a_long_stop_is_reported_to_the_coordinators(
    scheduler, visit_pair, coordinator, db
) -> None:
    clock = FrozenClock(datetime(2026, 11, 26, 10, 0, tzinfo=COPENHAGEN))
    bot = await scheduler(clock=clock)
    pair = await visit_pair("birthe", "jens")
    number = await booked_and_confirmed(bot, pair, db)
    coordinators_room = bot.runtime.coordinators_room_id
    assert coordinators_room is not None
    await bot.stop()
    boss = await coordinator()

    clock.set(TODAY_AT_TWO + timedelta(hours=3))  # three hours late; grace is one hour
    again = await scheduler(clock=clock)
    inbox = Inbox(boss, again.user_id)
    report = await inbox.wait_text(coordinators_room, f"besøg {number} (Birthe og Jens)")
    assert "for sent at sende" in report.body
    assert "påmindelsen 1440 minutter før" in report.body

    birthe = Inbox(pair.a, again.user_id)
    assert await birthe.count(pair.room_id, f"påmindelse om besøg {number}", once=again) == 0
    day_before = next(r for r in await reminders_of(db, number) if r.offset_minutes == 1440)
    assert day_before.state == MISSED


async def test_reminders_of_a_cancelled_visit_never_fire(scheduler, visit_pair, db) -> None:
    clock = FrozenClock(datetime(2026, 11, 26, 10, 0, tzinfo=COPENHAGEN))
    bot = await scheduler(clock=clock)
    pair = await visit_pair("vibeke", "lars")
    number = await booked_and_confirmed(bot, pair, db)
    vibeke = Inbox(pair.a, bot.user_id)
    await say(pair.a, pair.room_id, f"!aflys {number}")
    await vibeke.wait_text(pair.room_id, f"har aflyst besøg {number}")

    move_to(bot, clock, TODAY_AT_TWO + timedelta(days=1, minutes=-14))
    assert await vibeke.count(pair.room_id, "påmindelse om besøg", once=bot) == 0
    assert await vibeke.count(pair.room_id, "begynder om", once=bot) == 0
    assert {r.state for r in await reminders_of(db, number)} == {CANCELLED}
