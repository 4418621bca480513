"""Bots run in the test's own event loop against the session's Synapse."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bots.common.runtime import Bot, BotRuntime
from connec.clock import Clock
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
