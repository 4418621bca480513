"""The three UCLA loneliness questions, asked privately; coordinators see only figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bots.scheduler.reminders import timer_of
from connec.clock import FrozenClock
from connec.models import Person, WellbeingAnswer
from tests.bots.conftest import RunningBot
from tests.bots.scheduler.conftest import Inbox, say
from tests.harness import eventually

pytestmark = pytest.mark.synapse

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def look_now(bot: RunningBot) -> None:
    timer = timer_of(bot.runtime)
    assert timer is not None
    timer.clock_moved()


async def answers_of(db, person_id: int) -> list[WellbeingAnswer]:
    async with db.session() as session:
        return list(
            (
                await session.scalars(
                    select(WellbeingAnswer).where(WellbeingAnswer.person_id == person_id)
                )
            ).all()
        )


async def test_a_citizen_in_a_new_match_answers_the_three_questions_in_danish(
    scheduler, visit_pair, db
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    bot = await scheduler(clock=clock)
    pair = await visit_pair("asta", "mikkel", wellbeing_asked=False)
    asta, mikkel = Inbox(pair.a, bot.user_id), Inbox(pair.b, bot.user_id)
    look_now(bot)

    dm = await asta.direct_room()
    first = await asta.wait_text(dm, "Hvor ofte føler du, at du mangler nogen at være sammen med?")
    assert "tre korte spørgsmål" in first.body
    assert "1 Næsten aldrig" in first.body and "3 Ofte" in first.body

    await say(pair.a, dm, "2")
    await asta.wait_text(dm, "Hvor ofte føler du dig holdt udenfor?")
    await say(pair.a, dm, "måske")
    await asta.wait_text(dm, "Svar gerne med 1, 2 eller 3")
    await say(pair.a, dm, "næsten aldrig")
    await asta.wait_text(dm, "Hvor ofte føler du dig isoleret fra andre?")
    await say(pair.a, dm, "3 ofte")
    await asta.wait_text(dm, "Tak for dine svar")

    [answer] = await answers_of(db, pair.a_row.id)
    assert (answer.companionship, answer.left_out, answer.isolated) == (2, 1, 3)
    assert answer.total == 6 and answer.answered_at is not None

    # Asked once (the second question twice, after "måske"); the volunteer not at all.
    look_now(bot)
    assert await asta.count(dm, "Hvor ofte føler du", once=bot) == 4
    assert await answers_of(db, pair.b_row.id) == []
    assert mikkel.invites == []

    # Ninety days on, the questions come again.
    clock.advance(timedelta(days=91))
    look_now(bot)

    async def asked_twice() -> bool:
        return len(await answers_of(db, pair.a_row.id)) == 2

    await eventually(asked_twice, what="the questions asked again after 90 days")


async def test_an_english_speaking_citizen_is_asked_in_english(scheduler, visit_pair) -> None:
    bot = await scheduler(clock=FrozenClock(datetime.now(UTC)))
    pair = await visit_pair("mary", "frederik", a_language="en", wellbeing_asked=False)
    mary = Inbox(pair.a, bot.user_id)
    look_now(bot)
    dm = await mary.direct_room()
    question = await mary.wait_text(dm, "How often do you feel that you lack companionship?")
    assert "1 Hardly ever" in question.body and "2 Some of the time" in question.body


async def test_coordinators_see_aggregate_figures_and_no_one_person(
    scheduler, coordinator, person, db
) -> None:
    bot = await scheduler()
    boss = await coordinator()
    now = datetime.now(UTC)
    names = []
    async with db.session() as session:
        for n in range(6):
            client = await person(f"borger{n}")
            names.append(client.user_id)
            row = Person(matrix_id=client.user_id, role="citizen", display_name=f"Borger {n}")
            session.add(row)
            await session.flush()
            session.add(
                WellbeingAnswer(
                    person_id=row.id, asked_at=now, answered_at=now,
                    companionship=1, left_out=2, isolated=3,
                )
            )  # fmt: skip
    room = bot.runtime.coordinators_room_id
    assert room is not None

    await say(boss, room, "!trivsel")
    inbox = Inbox(boss, bot.user_id)
    figures = await inbox.wait_text(room, "UCLA-ensomhedsskalaen")
    assert "personer, gennemsnitlig sum" in figures.body
    assert "Alle" in figures.body and "Borgere" in figures.body
    assert "6:" in figures.body  # the distribution of totals
    assert not any(name in figures.body for name in names)
    assert "Borger 1" not in figures.body
