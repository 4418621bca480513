"""The fault suite's short versions: the scenarios of connec.faults with a handful of
faults each, on the session's Synapse. `connec bench faults` runs the long ones."""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator

import pytest

from connec.db import Database
from tests.harness import SynapseHarness


@pytest.fixture
def rng() -> random.Random:
    """Seeded randomness; the seed is printed, and CONNEC_FAULT_SEED repeats a run."""
    seed = int(os.environ.get("CONNEC_FAULT_SEED") or random.SystemRandom().randrange(10**6))
    print(f"fault seed: {seed} (repeat with CONNEC_FAULT_SEED={seed})")
    return random.Random(seed)


@pytest.fixture
async def db(synapse: SynapseHarness) -> AsyncIterator[Database]:
    database = Database(synapse.settings.db_url)
    yield database
    await database.close()
