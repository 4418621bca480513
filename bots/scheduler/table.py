"""The scheduler's one command table; each module declares its commands on it."""

from bots.common.commands import CommandTable

COMMANDS = CommandTable(domain="scheduler")
