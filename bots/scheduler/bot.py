"""The scheduler bot: lives in visit rooms; books visits and reminds (in its own issue)."""

from __future__ import annotations

from pathlib import Path

from bots.common.commands import CommandTable, declare_help
from bots.common.messages import Messages
from bots.common.runtime import Bot, BotRuntime

COMMANDS = CommandTable(domain="scheduler")
declare_help(COMMANDS)


class Scheduler(Bot):
    name = "scheduler"
    commands = COMMANDS
    messages = Messages("scheduler", Path(__file__).parent / "templates")

    async def should_join(
        self, runtime: BotRuntime, room_id: str, inviter: str, direct: bool
    ) -> bool:
        # The matchmaker invites the scheduler into every visit room it creates.
        matchmaker = runtime.settings.user_id(runtime.settings.matchmaker.localpart)
        return inviter == matchmaker or await super().should_join(runtime, room_id, inviter, direct)
