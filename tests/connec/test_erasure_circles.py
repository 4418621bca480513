"""Erasing someone in a circle: their place and wishes go, the circle goes on, and its
gatherings no longer name who booked them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from connec.db import Database, migrate
from connec.erasure import erase_rows
from connec.models import Booking, Circle, CircleMember, CircleWish, Person


async def test_erasing_a_host_keeps_the_circle_and_forgets_them(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'connec.db'}"
    await asyncio.to_thread(migrate, url)
    db = Database(url)
    try:
        async with db.session() as session:
            host = Person(matrix_id="@host:t", role="citizen", display_name="Birthe")
            other = Person(matrix_id="@other:t", role="citizen", display_name="Karen")
            session.add_all([host, other])
            await session.flush()
            circle = Circle(topic="Kolonihaven", state="introduced", closed_by="@host:t")
            session.add(circle)
            await session.flush()
            session.add_all(
                [
                    CircleMember(circle_id=circle.id, person_id=host.id, role="host", state="yes"),
                    CircleMember(circle_id=circle.id, person_id=other.id, state="yes"),
                    CircleWish(person_id=host.id, kind="host", topic="Kolonihaven"),
                    Booking(
                        circle_id=circle.id,
                        room_id="!c:t",
                        booked_by="@host:t",
                        confirmed_by="@host:t",
                        starts_at=datetime(2026, 12, 1, 13, tzinfo=UTC),
                        state="confirmed",
                    ),
                ]
            )
        async with db.session() as session:
            row = await session.scalar(select(Person).where(Person.matrix_id == "@host:t"))
            assert row is not None
            reference = await erase_rows(session, row)
        async with db.session() as session:
            members = (await session.scalars(select(CircleMember))).all()
            wishes = (await session.scalars(select(CircleWish))).all()
            booking = await session.scalar(select(Booking))
            kept = await session.scalar(select(Circle))
    finally:
        await db.close()
    assert [m.person_id for m in members] == [other.id] and wishes == []
    assert booking is not None and booking.booked_by == booking.confirmed_by == reference
    assert kept is not None and kept.closed_by == reference and kept.state == "introduced"


async def test_my_data_lists_my_circles_and_wishes(tmp_path: Path) -> None:
    from portal.records import export_person

    url = f"sqlite+aiosqlite:///{tmp_path / 'connec.db'}"
    await asyncio.to_thread(migrate, url)
    db = Database(url)
    try:
        async with db.session() as session:
            me = Person(matrix_id="@me:t", role="citizen", display_name="Inger")
            session.add(me)
            await session.flush()
            circle = Circle(topic="Kolonihaven", state="introduced")
            session.add(circle)
            await session.flush()
            session.add(CircleMember(circle_id=circle.id, person_id=me.id, state="yes"))
            session.add(CircleWish(person_id=me.id, kind="member"))
            await session.flush()
            data = await export_person(session, me)
    finally:
        await db.close()
    assert [(c["topic"], c["state"], c["role"]) for c in data["circles"]] == [
        ("Kolonihaven", "yes", "member")
    ]
    assert [w["kind"] for w in data["circle_wishes"]] == ["member"]
