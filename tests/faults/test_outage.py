"""Synapse stopped under both bots and the portal while people are imported: nothing
lost, nothing doubled once it is back, and the portal answers in words meanwhile.

The short version stops Synapse for 15 s; `connec bench faults` stops it for 60 s.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from connec import faults
from connec.db import Database
from tests.harness import SynapseHarness

pytestmark = pytest.mark.synapse


async def test_synapse_stopped_under_the_bots_and_the_portal_loses_and_doubles_nothing(
    synapse: SynapseHarness, db: Database, tmp_path: Path
) -> None:
    outcome = await faults.synapse_stopped(synapse, db, tmp_path, people=6, outage_s=15)
    print(outcome)
    assert outcome.problems == []
