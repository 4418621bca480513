"""The bots killed with SIGKILL at random moments, as real processes: nothing doubled,
nothing lost, counted in Synapse."""

from __future__ import annotations

import random
from pathlib import Path

from connec import faults
from connec.db import Database
from tests.harness import SynapseHarness


async def test_matchmaker_killed_while_greeting_leaves_one_direct_room_and_one_welcome_each(
    synapse: SynapseHarness, db: Database, rng: random.Random, tmp_path: Path
) -> None:
    outcome = await faults.greeting(synapse, db, tmp_path, people=16, kills=3, rng=rng)
    print(outcome)
    assert outcome.faults >= 1
    assert outcome.problems == []
