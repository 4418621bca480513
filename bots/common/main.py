"""Running a bot as its own process: logs, metrics, signals, the runtime."""

from __future__ import annotations

import asyncio
import signal

from bots.common.metrics import serve_metrics
from bots.common.runtime import Bot, BotRuntime
from connec.logs import setup_logging
from connec.settings import Settings


async def run_until_signal(runtime: BotRuntime) -> None:
    """Run until SIGTERM or SIGINT, then stop cleanly (no logout: the device stays)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, runtime.stop)
    await runtime.run()


def run_bot(settings: Settings, bot: Bot) -> None:
    setup_logging(settings.log_level)
    serve_metrics(getattr(settings, bot.name).metrics_port)
    asyncio.run(run_until_signal(BotRuntime(settings, bot)))
