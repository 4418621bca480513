"""Two people chat in their visit room without knowing the commands by heart."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bots.matchmaker.bot import Matchmaker
from connec.clock import FrozenClock
from tests.bots.scheduler.conftest import Inbox, say

pytestmark = pytest.mark.synapse

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def thursday_morning() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 26, 10, 0, tzinfo=COPENHAGEN))


async def test_a_mistyped_command_gets_one_kind_answer_naming_the_nearest(
    scheduler, start_bot, visit_pair
) -> None:
    bot = await scheduler(clock=thursday_morning())
    matchmaker = await start_bot(Matchmaker())
    pair = await visit_pair("solveig", "bjarne")
    solveig = Inbox(pair.a, bot.user_id)

    await say(pair.a, pair.room_id, "!bsøg i morgen kl 14")
    answer = await solveig.wait_text(pair.room_id, "Mente du")
    assert "Mente du !besøg?" in answer.body
    assert "!besøg i morgen kl 14" in answer.body and "!hjælp" in answer.body

    # Nobody else answers it, and it is answered once.
    assert await solveig.quiet(pair.room_id, "Mente du") == 1
    assert solveig.texts(pair.room_id, matchmaker.user_id) == []
