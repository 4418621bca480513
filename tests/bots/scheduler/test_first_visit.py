"""The whole story, both bots: a pair says yes, the matchmaker makes their room, they
book "i morgen kl 14", see it in words with a calendar file, and get their reminder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import nio
import pytest
from sqlalchemy import select

from bots.common.runtime import BotRuntime
from bots.matchmaker.bot import Matchmaker
from bots.matchmaker.matching import run_round
from bots.scheduler.bot import Scheduler
from bots.scheduler.reminders import timer_of
from bots.scheduler.when_words import spell_out
from connec.clock import FrozenClock
from connec.db import Database
from connec.models import Match, Person
from tests.bots.conftest import RunningBot, own_database
from tests.bots.scheduler.conftest import Inbox, say
from tests.harness import SynapseHarness, eventually

pytestmark = pytest.mark.synapse

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


@pytest.fixture
async def own_db(synapse: SynapseHarness, tmp_path: Path) -> AsyncIterator[Database]:
    """A database of this story's own, so the matchmaker pairs only these two."""
    database = await own_database(synapse, tmp_path)
    yield database
    await database.close()


async def enrol(db: Database, client: nio.AsyncClient, role: str, name: str) -> Person:
    values: dict[str, Any] = {
        "languages": ["da"],
        "interest_keys": ["gardening", "jazz"],
        "contact_modes": ["chat", "video"],
        "availability": ["tue-am", "thu-pm"],
        "birth_year": 1948 if role == "citizen" else 1985,
        "profile_complete": True,
        "approval": "approved",
    }
    async with db.session() as session:
        person = Person(matrix_id=client.user_id, role=role, display_name=name, **values)
        session.add(person)
    return person


async def test_a_pair_the_matchmaker_introduced_books_i_morgen_kl_14_and_is_reminded(
    synapse: SynapseHarness, person, own_db: Database
) -> None:
    settings = synapse.settings.model_copy(
        update={
            "database_url": own_db.url,
            "matching": synapse.settings.matching.model_copy(
                update={"requires_approval": False, "after_new_person_seconds": 0}
            ),
        }
    )
    karen_client = await person("karen", "Karen Jensen")
    anna_client = await person("anna", "Anna Holm")
    karen = await enrol(own_db, karen_client, "citizen", "Karen Jensen")
    await enrol(own_db, anna_client, "volunteer", "Anna Holm")

    bots: list[RunningBot] = []
    try:
        matchmaker = RunningBot(synapse, Matchmaker())
        matchmaker.runtime = BotRuntime(settings, Matchmaker())
        bots.append(await matchmaker.start())
        # Yesterday at 10 in Copenhagen, whatever the hour the test runs: "i morgen
        # kl 14" is then always more than a day ahead, so both reminders are planned.
        # (In the past, so nothing real looks older than the bot's own start.)
        yesterday_ten = datetime.now(COPENHAGEN).replace(
            hour=10, minute=0, second=0, microsecond=0
        ) - timedelta(days=1)
        clock = FrozenClock(yesterday_ten)
        scheduler = RunningBot(synapse, Scheduler())
        scheduler.runtime = BotRuntime(settings, scheduler.runtime.bot, clock=clock)
        bots.append(await scheduler.start())

        await run_round(own_db, settings, datetime.now(UTC))
        matchmaker.runtime.wake("proposal delivery")
        for inbox in (
            Inbox(karen_client, matchmaker.user_id),
            Inbox(anna_client, matchmaker.user_id),
        ):
            room_id = await inbox.direct_room()
            await inbox.wait_text(room_id, "Har du lyst til at mødes")
            await say(inbox.client, room_id, "ja")

        async def introduced() -> Match | None:
            async with own_db.session() as session:
                match = await session.scalar(select(Match).where(Match.a_id == karen.id))
            return match if match and match.state == "introduced" else None

        match = await eventually(introduced, timeout=60, what="the visit room")
        assert match.room_id is not None
        room_id = match.room_id
        karen_inbox = Inbox(karen_client, scheduler.user_id)
        anna_inbox = Inbox(anna_client, scheduler.user_id)

        async def joined() -> bool:
            for inbox in (karen_inbox, anna_inbox):
                await inbox.sync()
            return room_id in karen_client.rooms and room_id in anna_client.rooms

        await eventually(joined, what="both in their visit room")

        await say(karen_client, room_id, "!besøg i morgen kl 14")
        tomorrow = (clock.now().astimezone(COPENHAGEN) + timedelta(days=1)).date()
        at_two = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 14, tzinfo=COPENHAGEN)
        in_words = spell_out(at_two, "da")  # e.g. "fredag den 27. november kl. 14.00"
        question = await anna_inbox.wait_text(room_id, "foreslår et besøg")
        assert in_words in question.body

        await say(anna_client, room_id, "ja")
        confirmed = await karen_inbox.wait_text(room_id, "er aftalt")
        assert in_words in confirmed.body
        calendar_file = await karen_inbox.wait_file(room_id)
        assert calendar_file.body.endswith(".ics")

        # The day before, at 14:00, the first reminder.
        clock.set(at_two - timedelta(days=1, seconds=2))
        timer = timer_of(scheduler.runtime)
        assert timer is not None
        timer.clock_moved()
        reminder = await anna_inbox.wait_text(room_id, "påmindelse om besøg")
        assert in_words in reminder.body
        assert set(reminder.source["content"]["m.mentions"]["user_ids"]) == {
            karen_client.user_id,
            anna_client.user_id,
        }
    finally:
        for bot in bots:
            await bot.stop()
