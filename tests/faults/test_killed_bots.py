"""The bots killed with SIGKILL at random moments, as real processes: nothing doubled,
nothing lost, counted in Synapse."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from connec import faults
from connec.db import Database
from tests.harness import SynapseHarness

pytestmark = pytest.mark.synapse


async def test_matchmaker_killed_while_greeting_leaves_one_direct_room_and_one_welcome_each(
    synapse: SynapseHarness, db: Database, rng: random.Random, tmp_path: Path
) -> None:
    outcome = await faults.greeting(synapse, db, tmp_path, people=16, kills=3, rng=rng)
    print(outcome)
    assert outcome.faults >= 1
    assert outcome.problems == []


async def test_killed_matchmaker_and_scheduler_leave_one_room_one_introduction_one_reminder(
    synapse: SynapseHarness, db: Database, rng: random.Random, tmp_path: Path
) -> None:
    scheduler = faults.BotProcess(synapse, "scheduler", tmp_path / "logs")
    rooms, match_ids = await faults.visit_rooms(
        synapse, db, tmp_path, scheduler, pairs=6, kills=2, rng=rng
    )
    print(rooms)
    reminders = await faults.reminders(
        synapse, db, tmp_path, scheduler, match_ids, kills=2, rng=rng
    )
    print(reminders)
    assert rooms.faults >= 1 and reminders.faults >= 1
    assert rooms.problems == [] and reminders.problems == []
