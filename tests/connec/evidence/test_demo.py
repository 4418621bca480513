"""``connec demo data``: a made-up population for a trial folder, never for a real one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bots.matchmaker.matching import _matchable
from connec.cli import main
from connec.db import Database, migrate
from connec.evidence.demo import NotForDemo, refusal, seed_demo
from connec.models import Person, WellbeingAnswer, real_person
from connec.settings import load_settings

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


async def count(folder: Path, *where) -> int:
    db = Database(load_settings(folder).db_url)
    async with db.session() as session:
        found = await session.scalar(select(func.count()).select_from(Person).where(*where))
    await db.close()
    return int(found or 0)


async def test_a_trial_folder_gets_the_same_people_once(tmp_path: Path) -> None:
    first = await seed_demo(load_settings(tmp_path), now=NOW)
    assert first.people == 520 and first.friendships > 150 and first.answers > 400
    again = await seed_demo(load_settings(tmp_path), now=NOW)
    assert again.already and again.people == 520
    assert await count(tmp_path) == 520
    # Nobody the bots would write to: none is a real person, none is matchable.
    assert await count(tmp_path, real_person()) == 0
    assert await count(tmp_path, *_matchable()) == 0


async def test_the_same_seed_makes_the_same_answers(tmp_path: Path) -> None:
    totals = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        await seed_demo(load_settings(folder), now=NOW)
        db = Database(load_settings(folder).db_url)
        async with db.session() as session:
            totals.append(await session.scalar(select(func.sum(WellbeingAnswer.companionship))))
        await db.close()
    assert totals[0] == totals[1]


@pytest.mark.parametrize(
    ("setting", "said"),
    [
        ('[synapse]\npublic_url = "https://matrix.kommune.dk"\n', "public_url"),
        ('[portal]\npublic_url = "https://connec.kommune.dk"\n', "public_url"),
        ('database_url = "postgresql+asyncpg://connec@127.0.0.1/connec"\n', "PostgreSQL"),
    ],
)
def test_a_folder_that_serves_people_is_refused(tmp_path: Path, setting: str, said: str) -> None:
    (tmp_path / "connec.toml").write_text(setting)
    reason = refusal(load_settings(tmp_path))
    assert reason is not None and said in reason


async def test_a_folder_with_real_people_is_refused_and_left_alone(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    migrate(settings.db_url)
    db = Database(settings.db_url)
    async with db.session() as session:
        session.add(Person(matrix_id="@karen:kommune.dk", role="citizen"))
    await db.close()
    with pytest.raises(NotForDemo, match="1 real citizens or volunteers"):
        await seed_demo(settings, now=NOW)
    assert await count(tmp_path) == 1


def test_the_command_says_why_it_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "connec.toml").write_text('[synapse]\npublic_url = "https://matrix.kommune.dk"\n')
    assert main(["demo", "data", "--data-dir", str(tmp_path)]) == 2
    out = capsys.readouterr().out
    assert "looks like a deployment that serves people" in out
    assert not (tmp_path / "connec.db").exists()


async def test_the_scheduler_never_asks_a_made_up_person_about_loneliness(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from bots.scheduler.wellbeing import due_people
    from connec.clock import FrozenClock

    settings = load_settings(tmp_path)
    await seed_demo(settings, now=NOW)
    db = Database(settings.db_url)
    # What due_people reads of the bot's runtime: its database, clock and settings.
    runtime = SimpleNamespace(
        db=db, clock=FrozenClock(NOW + timedelta(days=200)), settings=settings
    )
    try:
        assert await due_people(runtime) == []  # type: ignore[arg-type]
    finally:
        await db.close()
