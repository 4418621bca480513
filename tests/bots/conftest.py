"""Bots run in the test's own event loop against the session's Synapse."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bots.common.runtime import Bot, BotRuntime
from connec.clock import Clock
from connec.db import Database, migrate
from connec.models import BotSyncState, DeploymentFact
from connec.provision import FACT_COORDINATORS_ROOM, BotCredentials, credentials_path
from connec.settings import Settings
from tests.harness import SynapseHarness


class RunningBot:
    """A bot started as a task; stop() is a clean shutdown, kill() an abrupt one."""

    def __init__(
        self,
        synapse: SynapseHarness,
        bot: Bot,
        clock: Clock | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.runtime = BotRuntime(settings or synapse.settings, bot, clock=clock)
        self.task: asyncio.Task[None] | None = None

    @property
    def user_id(self) -> str:
        return self.runtime.user_id

    async def start(self) -> RunningBot:
        self.task = asyncio.create_task(self.runtime.run())
        ready = asyncio.create_task(self.runtime.ready.wait())
        done, _ = await asyncio.wait(
            {self.task, ready}, timeout=60, return_when=asyncio.FIRST_COMPLETED
        )
        if self.task in done:
            ready.cancel()
            self.task.result()  # raises what stopped it
        assert ready in done, "the bot did not become ready within 60 s"
        return self

    async def stop(self) -> None:
        if self.task is not None and not self.task.done():
            self.runtime.stop()
            await asyncio.wait_for(self.task, timeout=15)

    async def kill(self) -> None:
        """Cancel mid-whatever, as a crash would."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)


@pytest.fixture
async def start_bot(
    synapse: SynapseHarness,
) -> AsyncIterator[Callable[..., Awaitable[RunningBot]]]:
    running: list[RunningBot] = []

    async def start(
        bot: Bot, clock: Clock | None = None, settings: Settings | None = None
    ) -> RunningBot:
        """Start ``bot``, on the session's settings unless given others."""
        instance = RunningBot(synapse, bot, clock, settings)
        running.append(instance)
        return await instance.start()

    yield start
    for instance in running:
        await instance.stop()


async def sync_position_now(synapse: SynapseHarness, bot: str) -> str:
    """Where the bot's stream stands now, from a small /sync of its own.

    A bot's very first sync (no position stored) is the same request every time, and
    Synapse answers a repeated /sync from its two-minute response cache: a bot starting
    afresh on a second database would get the stale answer of an earlier start and then
    replay that start's syncs. Starting from a stored position avoids that, so this
    request is made unlike any before it (a filter naming a fresh, unused event type):
    asked twice within the two minutes, the same request would be as stale.
    """
    creds = BotCredentials.load(credentials_path(synapse.settings, bot))
    assert creds is not None
    empty = json.dumps(
        {
            "room": {"rooms": []},
            "presence": {"not_types": ["*"]},
            "account_data": {"not_types": [f"connec.tests.{uuid.uuid4().hex}"]},
        }
    )
    answer = await synapse.admin.request(
        "GET",
        "/_matrix/client/v3/sync",
        token=creds.access_token,
        params={"timeout": "0", "filter": empty, "set_presence": "offline"},
    )
    return str(answer["next_batch"])


async def own_database(synapse: SynapseHarness, folder: Path) -> Database:
    """A connec database of one story's own, for the session's bots to run on: migrated,
    knowing the coordinators' room, and each bot's sync position set to now."""
    url = f"sqlite+aiosqlite:///{folder / 'connec.db'}"
    await asyncio.to_thread(migrate, url)
    database = Database(url)
    now = datetime.now(UTC)
    async with database.session() as session:
        session.add(
            DeploymentFact(key=FACT_COORDINATORS_ROOM, value=synapse.facts[FACT_COORDINATORS_ROOM])
        )
        for bot in ("matchmaker", "scheduler"):
            position = await sync_position_now(synapse, bot)
            session.add(BotSyncState(bot=bot, next_batch=position, joined_at=now))
    return database
