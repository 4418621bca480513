"""The matchmaker bot: greets people, and (in its own issue) learns who they are,
proposes pairs and creates visit rooms."""

from __future__ import annotations

from pathlib import Path

from bots.common.commands import CommandTable, declare_help
from bots.common.messages import Messages
from bots.common.runtime import Bot

COMMANDS = CommandTable(domain="matchmaker")
declare_help(COMMANDS)


class Matchmaker(Bot):
    name = "matchmaker"
    commands = COMMANDS
    messages = Messages("matchmaker", Path(__file__).parent / "templates")
