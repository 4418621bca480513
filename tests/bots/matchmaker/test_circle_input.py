"""Who may be asked into a circle: people waiting for a friend, and anyone who asked
(also beside a friendship); not someone resting after saying no; hosts as hosts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bots.matchmaker import circles
from connec.db import Database, migrate
from connec.models import Circle, CircleMember, CircleWish, Match, Person

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


async def test_waiting_people_and_those_who_asked_are_members_and_hosts_lead(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'connec.db'}"
    await asyncio.to_thread(migrate, url)
    db = Database(url)
    try:
        async with db.session() as session:
            people = {
                name: Person(
                    matrix_id=f"@{name}:t",
                    role=role,
                    display_name=name.title(),
                    interest_keys=["gardening"],
                    profile_complete=True,
                )
                for name, role in (
                    ("waiting", "citizen"),
                    ("friend", "citizen"),
                    ("asked", "citizen"),
                    ("rested", "citizen"),
                    ("host", "volunteer"),
                    ("buddy", "volunteer"),
                )
            }
            session.add_all(people.values())
            await session.flush()
            ids = {name: p.id for name, p in people.items()}
            for name in ("friend", "asked"):
                session.add(Match(a_id=ids[name], b_id=ids["buddy"], state="introduced"))
            session.add(CircleWish(person_id=ids["asked"], kind="member"))
            session.add(CircleWish(person_id=ids["host"], kind="host", topic="Kolonihaven"))
            said_no = Circle(
                topic="Krimier", state=circles.LAPSED, created_at=NOW - timedelta(days=5)
            )
            session.add(said_no)
            await session.flush()
            session.add(CircleMember(circle_id=said_no.id, person_id=ids["rested"], state="no"))
        async with db.session() as session:
            found = await circles.read_input(session, NOW, "da")
    finally:
        await db.close()
    members = {p.person_id for p in found.members}
    assert members == {ids["waiting"], ids["asked"]}
    assert [h.profile.person_id for h in found.hosts] == [ids["host"]]
    assert found.hosts[0].topic_name == "Kolonihaven"
    assert found.hosts[0].topic.keys == {"gardening"}
