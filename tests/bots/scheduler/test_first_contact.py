"""A new device is not a stranger: what waits for a person's answer is asked again on
it, and a coordinator who signs in just now reads what the scheduler says next."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from connec.clock import FrozenClock
from connec.models import Booking, CheckIn
from tests.bots.scheduler.conftest import Inbox, bookings_in, react, say
from tests.bots.scheduler.test_checkin import ASKED_AT, START, visit_that_took_place
from tests.harness import SynapseHarness, eventually, sign_in

pytestmark = pytest.mark.synapse

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


async def test_a_visit_to_confirm_is_asked_again_on_a_new_tablet_and_its_thumb_confirms(
    synapse: SynapseHarness, scheduler, visit_pair, db, tmp_path: Path
) -> None:
    bot = await scheduler(clock=FrozenClock(datetime(2026, 11, 26, 10, 0, tzinfo=COPENHAGEN)))
    pair = await visit_pair("karen", "john")
    karen = Inbox(pair.a, bot.user_id)
    await say(pair.a, pair.room_id, "!besøg i morgen kl 14")
    await Inbox(pair.b, bot.user_id).wait_text(pair.room_id, "foreslår et besøg")

    # John gets a new tablet before he has answered; his phone's messages are history
    # to it, so the question comes again, for him, readable there.
    tablet = await sign_in(synapse.url, pair.b.user_id, pair.b.password, tmp_path / "tablet")
    try:
        on_tablet = Inbox(tablet, bot.user_id)
        await on_tablet.sync()
        again = await on_tablet.wait_text(pair.room_id, "ny enhed")
        assert "Karen foreslår et besøg" in again.body
        assert "fredag den 27. november kl. 14.00" in again.body
        await react(tablet, pair.room_id, again.event_id, "👍")
        await karen.wait_text(pair.room_id, "er aftalt")

        async def confirmed() -> Booking | None:
            [row] = await bookings_in(db, pair.room_id)
            return row if row.state == "confirmed" else None

        booking = await eventually(confirmed, what="the visit confirmed from the tablet")
        assert booking.confirmed_by == pair.b.user_id
        # Asked once again, however many syncs the tablet makes.
        assert await on_tablet.count(pair.room_id, "ny enhed", once=bot) == 1
    finally:
        await tablet.close()


async def test_an_open_check_in_is_asked_again_on_a_new_device(
    synapse: SynapseHarness, scheduler, visit_pair, db, tmp_path: Path
) -> None:
    clock = FrozenClock(START)
    bot = await scheduler(clock=clock, reminder_offsets_minutes=[])
    pair = await visit_pair("else", "otto")
    await visit_that_took_place(bot, clock, pair, db)
    assert clock.now() == ASKED_AT
    phone = Inbox(pair.a, bot.user_id)
    dm = await phone.direct_room()
    await phone.wait_text(dm, "Hvordan gik dit besøg med Otto")

    tablet = await sign_in(synapse.url, pair.a.user_id, pair.a.password, tmp_path / "tablet")
    try:
        on_tablet = Inbox(tablet, bot.user_id)
        again = await on_tablet.wait_text(dm, "ny enhed")
        assert "Hvordan gik dit besøg med Otto" in again.body
        await say(tablet, dm, "4 det var dejligt")
        await on_tablet.wait_text(dm, "Tak for dit svar")

        async def answered() -> CheckIn | None:
            async with db.session() as session:
                row = await session.scalar(
                    select(CheckIn).where(CheckIn.person_id == pair.a_row.id)
                )
            return row if row is not None and row.score == 4 else None

        await eventually(answered, what="the answer from the tablet stored")
    finally:
        await tablet.close()


async def test_a_coordinator_who_just_signed_in_reads_the_next_alert(
    synapse: SynapseHarness, scheduler, visit_pair, coordinator, db
) -> None:
    """The bot may not have seen the new device in its sync yet: it looks the readers'
    devices up again just before it writes, so the alert is readable there."""
    clock = FrozenClock(START)
    bot = await scheduler(clock=clock, reminder_offsets_minutes=[])
    pair = await visit_pair("hilda", "sune")
    await visit_that_took_place(bot, clock, pair, db)
    hilda = Inbox(pair.a, bot.user_id)
    dm = await hilda.direct_room()
    await hilda.wait_text(dm, "Hvordan gik dit besøg med Sune")

    boss = await coordinator()  # a new device, this very moment
    await say(pair.a, dm, "1")
    room = bot.runtime.coordinators_room_id
    assert room is not None
    alert = await Inbox(boss, bot.user_id).wait_text(room, "med Sune")
    assert "1 ud af 5" in alert.body
