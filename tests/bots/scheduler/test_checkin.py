"""After a visit each person is asked privately how it went; worries reach a coordinator."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bots.scheduler.reminders import timer_of
from connec.clock import FrozenClock
from connec.models import Booking, CheckIn, Concern
from tests.bots.conftest import RunningBot
from tests.bots.scheduler.conftest import Inbox, VisitPair, bookings_in, say
from tests.harness import eventually

pytestmark = pytest.mark.synapse

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
START = datetime(2026, 11, 26, 10, 0, tzinfo=COPENHAGEN)
# The visit tomorrow 14:00-14:30; each person is asked 15 minutes after it ends.
ASKED_AT = datetime(2026, 11, 27, 14, 45, tzinfo=COPENHAGEN)


async def visit_that_took_place(bot: RunningBot, clock: FrozenClock, pair: VisitPair, db) -> int:
    john = Inbox(pair.b, bot.user_id)
    await say(pair.a, pair.room_id, "!besøg i morgen kl 14")
    await john.wait_text(pair.room_id, "foreslår et besøg")
    await say(pair.b, pair.room_id, "ja")

    async def confirmed() -> Booking | None:
        found = await bookings_in(db, pair.room_id)
        return found[0] if found and found[0].state == "confirmed" else None

    booking = await eventually(confirmed, what="the visit confirmed")
    clock.set(ASKED_AT)
    timer = timer_of(bot.runtime)
    assert timer is not None
    timer.clock_moved()
    return booking.id


async def checkin_of(db, booking_id: int, person_id: int) -> CheckIn | None:
    async with db.session() as session:
        return await session.scalar(
            select(CheckIn).where(CheckIn.booking_id == booking_id, CheckIn.person_id == person_id)
        )


async def concerns_about(db, match_id: int) -> list[Concern]:
    async with db.session() as session:
        return list(
            (await session.scalars(select(Concern).where(Concern.match_id == match_id))).all()
        )


async def test_each_is_asked_privately_and_a_low_score_reaches_coordinators_without_words(
    scheduler, visit_pair, coordinator, db
) -> None:
    clock = FrozenClock(START)
    bot = await scheduler(clock=clock, reminder_offsets_minutes=[])
    pair = await visit_pair("karen", "john")
    boss = await coordinator()
    number = await visit_that_took_place(bot, clock, pair, db)
    karen, john = Inbox(pair.a, bot.user_id), Inbox(pair.b, bot.user_id)

    karen_dm = await karen.direct_room()
    question = await karen.wait_text(karen_dm, "Hvordan gik dit besøg med John")
    assert "fredag den 27. november kl. 14.00" in question.body
    john_dm = await john.direct_room()
    await john.wait_text(john_dm, "Hvordan gik dit besøg med Karen")
    assert karen_dm != john_dm != pair.room_id

    await say(pair.a, karen_dm, "2")
    await karen.wait_text(karen_dm, "fortælle lidt mere")
    room = bot.runtime.coordinators_room_id
    assert room is not None
    alert = await Inbox(boss, bot.user_id).wait_text(room, f"gav besøg {number} med John")
    assert "2 ud af 5" in alert.body

    await say(pair.a, karen_dm, "Han var uhøflig og jeg blev ked af det")
    await karen.wait_text(karen_dm, "Må jeg give dine ord videre")
    await say(pair.a, karen_dm, "nej")
    thanks = await karen.wait_text(karen_dm, "Tak for dit svar")
    assert "givet koordinatoren besked" in thanks.body

    await say(pair.b, john_dm, "5 det var hyggeligt")
    await john.wait_text(john_dm, "Tak for dit svar")

    row = await checkin_of(db, number, pair.a_row.id)
    assert row is not None and row.score == 2 and row.raised and not row.share_words
    assert row.answered_at is not None
    johns = await checkin_of(db, number, pair.b_row.id)
    assert johns is not None and johns.score == 5 and not johns.raised
    [concern] = await concerns_about(db, pair.match_id)
    assert concern.source == "checkin" and "uhøflig" not in concern.text
    coordinators = Inbox(boss, bot.user_id)
    assert await coordinators.count(room, "uhøflig", once=bot) == 0


async def test_worried_words_are_shared_with_consent(
    scheduler, visit_pair, coordinator, db
) -> None:
    clock = FrozenClock(START)
    bot = await scheduler(clock=clock, reminder_offsets_minutes=[])
    pair = await visit_pair("ruth", "ali", b_language="en")
    boss = await coordinator()
    number = await visit_that_took_place(bot, clock, pair, db)
    ruth, ali = Inbox(pair.a, bot.user_id), Inbox(pair.b, bot.user_id)

    ali_dm = await ali.direct_room()
    await ali.wait_text(ali_dm, "How did your visit with Ruth go")
    await say(pair.b, ali_dm, "4 but she seemed very lonely and asked to borrow money")
    await ali.wait_text(ali_dm, "May I pass your words on")
    await say(pair.b, ali_dm, "yes")
    await ali.wait_text(ali_dm, "Thank you for your answer")

    room = bot.runtime.coordinators_room_id
    assert room is not None
    alert = await Inbox(boss, bot.user_id).wait_text(room, f"svarede om besøg {number}")
    assert "asked to borrow money" in alert.body and "4 ud af 5" in alert.body

    # Ruth has not answered yet; her question waits in her own direct room.
    ruth_dm = await ruth.direct_room()
    await ruth.wait_text(ruth_dm, "Hvordan gik dit besøg med Ali")
    row = await checkin_of(db, number, pair.b_row.id)
    assert row is not None and row.share_words and row.raised
    [concern] = await concerns_about(db, pair.match_id)
    assert "borrow money" in concern.text
    assert timedelta(0) <= clock.now() - ASKED_AT < timedelta(minutes=1)
