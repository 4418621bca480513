"""The dashboard counts circles, the people in them and gatherings held, and never shows
a number under five, so nobody in a small group stands out."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient

from connec.db import Database
from connec.models import Booking, Circle, CircleMember
from tests.portal.helpers import now, signed_in
from tests.portal.test_dashboard import add_person, town

pytestmark = pytest.mark.synapse


def circle_part(page: str) -> str:
    return page.split('id="circles"')[1].split("</section>")[0]


async def test_circles_are_counted_and_small_numbers_are_never_shown(
    portal_on_synapse: TestClient, database: Database, member
) -> None:
    here = town()
    carl = await member("carl", "coordinator", here)
    await signed_in(portal_on_synapse, carl)
    at = now()
    # Rows only: members count as invited, so no bot tries to invite them to a room
    # that does not exist.
    people = [
        await add_person(database, role="citizen", display_name=f"Cirkel {n}", municipality=here)
        for n in range(6)
    ]
    async with database.session() as session:
        circle = Circle(topic="Kolonihaven", state="introduced", room_id=f"!c{at.timestamp()}:t")
        session.add(circle)
        await session.flush()
        for person_id in people[:4]:
            session.add(
                CircleMember(circle_id=circle.id, person_id=person_id, state="yes", invited_at=at)
            )
        circle_id = circle.id

    try:
        page = await (await portal_on_synapse.get("/koordinator")).text()
        part = circle_part(page)
        # One circle of four, no gatherings: every number is under five.
        assert part.count("færre end fem") == 3
        assert "Cirkel 0" not in part  # never names anyone

        async with database.session() as session:
            for person_id in people[4:]:
                session.add(
                    CircleMember(
                        circle_id=circle_id, person_id=person_id, state="yes", invited_at=at
                    )
                )
            session.add(
                Booking(
                    circle_id=circle_id,
                    room_id="!c:t",
                    booked_by="@host:connec.test",
                    starts_at=at - timedelta(weeks=5, minutes=5),
                    weekly=True,
                    state="confirmed",
                    updated_at=at,
                )
            )
        part = circle_part(await (await portal_on_synapse.get("/koordinator")).text())
        assert "Deltagere i dem</th><td>6</td>" in part
        assert "Afholdte samlinger</th><td>6</td>" in part
        assert "Cirkler i gang</th><td>færre end fem</td>" in part
    finally:
        # Closed, so the bots of later stories on this database leave these rows alone.
        async with database.session() as session:
            row = await session.get(Circle, circle_id)
            assert row is not None
            row.state = "closed"
