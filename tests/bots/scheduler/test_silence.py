"""A visit room that goes quiet gets a gentle nudge, then a coordinator is told."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import or_, select

from bots.scheduler.reminders import timer_of
from connec.clock import FrozenClock
from connec.db import Database
from connec.models import Concern, Match
from tests.bots.conftest import RunningBot
from tests.bots.scheduler.conftest import Inbox, say
from tests.harness import eventually

pytestmark = pytest.mark.synapse

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
START = datetime(2026, 11, 26, 10, 0, tzinfo=COPENHAGEN)


def move_on(bot: RunningBot, clock: FrozenClock, days: int) -> None:
    clock.advance(timedelta(days=days))
    timer = timer_of(bot.runtime)
    assert timer is not None
    timer.clock_moved()


async def match_row(db, match_id: int) -> Match:
    async with db.session() as session:
        match = await session.get(Match, match_id)
    assert match is not None
    return match


async def test_quiet_for_two_weeks_nudges_both_and_four_weeks_tells_a_coordinator(
    scheduler, visit_pair, coordinator, db
) -> None:
    touched_before = await touched_by_care(db)
    clock = FrozenClock(START)
    bot = await scheduler(clock=clock)
    pair = await visit_pair("edith", "kasper", introduced_at=START - timedelta(hours=1))
    boss = await coordinator()
    edith = Inbox(pair.a, bot.user_id)

    await say(pair.a, pair.room_id, "Hej Kasper, hvordan går det?")

    async def noticed() -> bool:
        return (await match_row(db, pair.match_id)).last_activity_at == clock.now()

    await eventually(noticed, what="the message counted as activity")

    move_on(bot, clock, 13)
    assert await edith.count(pair.room_id, "stykke tid", once=bot) == 0

    move_on(bot, clock, 2)  # fifteen days quiet
    nudge = await edith.wait_text(pair.room_id, "Det er et stykke tid siden")
    assert set(nudge.source["content"]["m.mentions"]["user_ids"]) == {
        pair.a.user_id,
        pair.b.user_id,
    }
    # The row is written a moment after the message is sent.
    await eventually(
        lambda: marked(db, pair.match_id, "nudged_at", clock.now()), what="the nudge recorded"
    )

    move_on(bot, clock, 14)  # twenty-nine days quiet
    room = bot.runtime.coordinators_room_id
    assert room is not None
    alert = await Inbox(boss, bot.user_id).wait_text(room, "Edith og Kasper")
    assert "stille i 29 dage" in alert.body
    await eventually(
        lambda: marked(db, pair.match_id, "escalated_at", clock.now()),
        what="the escalation recorded",
    )
    async with db.session() as session:
        concern = await session.scalar(select(Concern).where(Concern.match_id == pair.match_id))
    assert concern is not None and concern.source == "silence"
    # Four weeks on, the care job met no other story's pair: this one alone was nudged.
    assert await touched_by_care(db) - touched_before == {pair.match_id}
    # Only one nudge, however often the care job looks.
    assert await edith.count(pair.room_id, "Det er et stykke tid siden", once=bot) == 1

    # A word in the room starts the count again.
    await say(pair.b, pair.room_id, "Undskyld, jeg har været syg. Skal vi ses på torsdag?")

    async def counting_again() -> Match | None:
        match = await match_row(db, pair.match_id)
        return match if match.nudged_at is None and match.escalated_at is None else None

    await eventually(counting_again, what="the quiet count to start again")


async def test_a_pair_with_a_visit_ahead_is_left_in_peace(scheduler, visit_pair, db) -> None:
    clock = FrozenClock(START)
    bot = await scheduler(clock=clock)
    pair = await visit_pair("gudrun", "niels", introduced_at=START)
    gudrun, niels = Inbox(pair.a, bot.user_id), Inbox(pair.b, bot.user_id)
    await say(pair.a, pair.room_id, "!besøg hver onsdag kl 10 video")
    await niels.wait_text(pair.room_id, "foreslår et besøg")
    await say(pair.b, pair.room_id, "ja")
    await gudrun.wait_text(pair.room_id, "er aftalt")

    move_on(bot, clock, 20)
    assert await gudrun.count(pair.room_id, "Det er et stykke tid siden", once=bot) == 0
    assert (await match_row(db, pair.match_id)).nudged_at is None


async def marked(db: Database, match_id: int, column: str, when: datetime) -> bool:
    return getattr(await match_row(db, match_id), column) == when


async def touched_by_care(db: Database) -> set[int]:
    """Matches the care job has nudged or raised with a coordinator."""
    async with db.session() as session:
        found = await session.scalars(
            select(Match.id).where(
                or_(Match.nudged_at.is_not(None), Match.escalated_at.is_not(None))
            )
        )
        return set(found)
