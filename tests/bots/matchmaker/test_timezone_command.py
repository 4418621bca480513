"""Someone abroad sets their time zone with one word, and is answered kindly when the
words name none."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connec.db import Database
from connec.models import Person
from tests.bots.matchmaker.conftest import add_person, open_direct_room

pytestmark = pytest.mark.synapse


async def test_a_volunteer_abroad_sets_their_time_zone(
    person, own_db: Database, own_matchmaker
) -> None:
    client = await person("sofie", "Sofie Udland")
    await add_person(own_db, client.user_id, "volunteer", "Sofie Udland")
    bot = await own_matchmaker()
    direct = await open_direct_room(client, bot.user_id)

    await direct.say("tidszone Atlantis")
    unknown = await direct.message(bot.user_id, "kender ikke tidszonen")
    assert "Atlantis" in unknown.body and "tidszone Berlin" in unknown.body

    await direct.say("tidszone New York")
    await direct.message(bot.user_id, "America/New_York")
    async with own_db.session() as session:
        zone = await session.scalar(
            select(Person.timezone).where(Person.matrix_id == client.user_id)
        )
    assert zone == "America/New_York"

    await direct.say("!tidszone")
    await direct.message(bot.user_id, "Din tidszone er America/New_York")
