"""Two people chat in their visit room without knowing the commands by heart."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bots.matchmaker.bot import Matchmaker
from connec.clock import FrozenClock
from connec.models import Booking, HandledEvent
from tests.bots.scheduler.conftest import Inbox, bookings_in, react, say
from tests.harness import eventually

pytestmark = pytest.mark.synapse

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def thursday_morning() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 26, 10, 0, tzinfo=COPENHAGEN))


async def test_a_mistyped_command_gets_one_kind_answer_naming_the_nearest(
    scheduler, start_bot, visit_pair, db
) -> None:
    bot = await scheduler(clock=thursday_morning())
    matchmaker = await start_bot(Matchmaker())
    pair = await visit_pair("solveig", "bjarne")
    solveig = Inbox(pair.a, bot.user_id)

    typo = await say(pair.a, pair.room_id, "!bsøg i morgen kl 14")
    answer = await solveig.wait_text(pair.room_id, "Mente du")
    assert "Mente du !besøg?" in answer.body
    assert "!besøg i morgen kl 14" in answer.body and "!hjælp" in answer.body

    # Nobody else answers it (the matchmaker has handled it, and said nothing), and
    # it is answered once.
    async def handled_by_matchmaker() -> bool:
        async with db.session() as session:
            return await session.get(HandledEvent, ("matchmaker", typo)) is not None

    await eventually(handled_by_matchmaker, what="the matchmaker to have read the typo")
    assert await solveig.count(pair.room_id, "Mente du", once=bot) == 1
    assert solveig.texts(pair.room_id, matchmaker.user_id) == []


async def test_a_day_and_a_time_arranged_in_chat_is_offered_once_and_a_yes_books_it(
    scheduler, visit_pair, db
) -> None:
    bot = await scheduler(clock=thursday_morning())
    pair = await visit_pair("dorte", "ahmed")
    dorte, ahmed = Inbox(pair.a, bot.user_id), Inbox(pair.b, bot.user_id)

    await say(pair.a, pair.room_id, "Hej Ahmed! Skal vi ses på torsdag kl 14?")
    offer = await ahmed.wait_text(pair.room_id, "i kalenderen")
    assert "Skal jeg skrive torsdag den 3. december kl. 14.00 i kalenderen?" in offer.body
    assert "Svar ja, eller sæt 👍" in offer.body
    assert offer.source["content"]["m.mentions"]["user_ids"] == []  # quietly

    # Saying the same time again, or plain chat, brings no second offer.
    await say(pair.b, pair.room_id, "Torsdag kl 14 passer mig fint, skal vi ses der?")
    await say(pair.b, pair.room_id, "Og skal vi ses i dag kl 9? Nej, det er jo forbi.")
    assert await ahmed.count(pair.room_id, "i kalenderen", once=bot) == 1

    # A yes from either person books it; the other confirms as with !besøg.
    await react(pair.b, pair.room_id, offer.event_id, "👍")
    question = await dorte.wait_text(pair.room_id, "Ahmed foreslår et besøg")
    assert "torsdag den 3. december kl. 14.00" in question.body
    await say(pair.a, pair.room_id, "ja")
    confirmed = await ahmed.wait_text(pair.room_id, "er aftalt")
    assert "torsdag den 3. december kl. 14.00" in confirmed.body

    async def settled() -> Booking | None:
        rows = await bookings_in(db, pair.room_id)
        return rows[0] if len(rows) == 1 and rows[0].state == "confirmed" else None

    booking = await eventually(settled, what="the offered visit to be confirmed")
    assert booking.booked_by == pair.b.user_id and booking.confirmed_by == pair.a.user_id


async def test_an_unclear_typo_is_asked_about_and_nothing_is_booked_without_a_yes(
    scheduler, visit_pair, db
) -> None:
    bot = await scheduler(clock=thursday_morning())
    pair = await visit_pair("ellen", "kasper")
    ellen, kasper = Inbox(pair.a, bot.user_id), Inbox(pair.b, bot.user_id)

    await say(pair.a, pair.room_id, "!besøg trsdag kl 14")
    asked = await ellen.wait_text(pair.room_id, "mente du")
    assert "mente du tirsdag den 1. december kl. 14.00?" in asked.body
    [row] = await bookings_in(db, pair.room_id)
    assert row.state == "unsure"

    # Only Ellen answers her own question; Kasper's yes is no answer to it.
    await say(pair.b, pair.room_id, "ja")
    await say(pair.a, pair.room_id, "nej")
    await ellen.wait_text(pair.room_id, "Så er intet booket")
    assert await kasper.count(pair.room_id, "foreslår et besøg", once=bot) == 0

    await say(pair.a, pair.room_id, "!besøg torsdg kl 14")  # clear: read at once
    question = await kasper.wait_text(pair.room_id, "Ellen foreslår et besøg")
    assert "torsdag den 3. december kl. 14.00" in question.body
