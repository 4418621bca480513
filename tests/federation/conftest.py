"""Two connec deployments that federate over TLS on loopback, for the whole session.

The municipality is the session's ``synapse`` here (its bots, its coordinators' room,
its database); the volunteer organisation runs its own Synapse beside it. Both are
started once, certificates first, each trusting the other's CA.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from connec.throwaway import ThrowawaySynapse, federating_pair, start_pair
from tests.bots.conftest import RunningBot
from tests.bots.matchmaker.conftest import (
    coordinator,
    coordinators_room,
    db,
    own_db,
    own_matchmaker,
)
from tests.harness import SynapseHarness

__all__ = ["coordinator", "coordinators_room", "db", "own_db", "own_matchmaker"]


@pytest.fixture(scope="session")
async def federation() -> AsyncIterator[tuple[ThrowawaySynapse, ThrowawaySynapse]]:
    root = Path(tempfile.mkdtemp(prefix="connec-federation-"))
    pair = federating_pair(root / "municipality", root / "organisation")
    try:
        await start_pair(pair)
        yield pair
    finally:
        for server in pair:
            await server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def synapse(federation: tuple[ThrowawaySynapse, ThrowawaySynapse]) -> SynapseHarness:
    """The municipality's homeserver: the bots under test run here."""
    return federation[0]  # type: ignore[return-value]


@pytest.fixture(scope="session")
def organisation(federation: tuple[ThrowawaySynapse, ThrowawaySynapse]) -> SynapseHarness:
    """The volunteer organisation's homeserver."""
    return federation[1]  # type: ignore[return-value]


@pytest.fixture
async def bots() -> AsyncIterator[list[RunningBot]]:
    """The municipality's bots a story starts (``tests.federation.story.start``)."""
    running: list[RunningBot] = []
    yield running
    for bot in running:
        await bot.stop()
