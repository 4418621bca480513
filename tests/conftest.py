"""Shared fixtures: one real Synapse for the session, real clients as people."""

from __future__ import annotations

import io
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import nio
import pytest

from tests.harness import SynapseHarness, forget_readers, new_person_client, readers
from tests.leftovers import end_what_was_made, marks

pytest_plugins = ("tests.ci", "pytester")

# A failing story shows connec's own INFO lines (pyproject: log_level); nio's would
# bury them (a line for every event of every room it syncs).
logging.getLogger("nio").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
async def synapse() -> AsyncIterator[SynapseHarness]:
    data_dir = Path(tempfile.mkdtemp(prefix="connec-synapse-"))
    harness = SynapseHarness(data_dir)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(autouse=True)
async def nothing_unreadable() -> AsyncIterator[None]:
    """Every bot message a test's clients received must be readable: a message
    encrypted for no device of theirs fails the test that received it."""
    forget_readers()
    yield
    try:
        for reader in readers():
            await reader.final_check()
    finally:
        forget_readers()


@pytest.fixture(autouse=True)
def _leaves_nothing_behind(request: pytest.FixtureRequest) -> Iterator[None]:
    """A story on the session's Synapse ends what it made in the shared database when
    it ends (after its bots stop), so no later story meets it: see tests/leftovers.py."""
    if "synapse" not in request.fixturenames:
        yield
        return
    db_url = request.getfixturevalue("synapse").settings.db_url
    since = marks(db_url)
    yield
    end_what_was_made(db_url, since)


@pytest.fixture
async def person(
    synapse: SynapseHarness, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[nio.AsyncClient]]]:
    """A factory: ``await person("karen")`` gives a logged-in client acting as Karen
    (``on=`` another homeserver: someone whose account is there)."""
    clients: list[nio.AsyncClient] = []

    async def make(
        name: str, displayname: str | None = None, *, on: SynapseHarness | None = None
    ) -> nio.AsyncClient:
        client = await new_person_client(
            on or synapse, tmp_path / f"{name}-{len(clients)}", name, displayname
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """connec's logs as a running part writes them (JSON lines, DEBUG), kept in memory."""
    from connec.logs import JsonFormatter, setup_logging

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    setup_logging("DEBUG")
    buffer = io.StringIO()
    [handler] = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    assert isinstance(handler.formatter, JsonFormatter)
    handler.stream = buffer
    try:
        yield buffer
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
