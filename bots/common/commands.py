"""One declarative command table per bot.

A command is declared once, next to its handler, with its Danish and English
names, its arguments, the permission it needs, where it may be used and its help
text; `!hjælp` / `!help` is generated from these declarations, so help can never
drift from behaviour.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

PREFIX = "!"


class Permission(enum.Enum):
    """Who may run a command."""

    ANYONE = "anyone"
    COORDINATOR = "coordinator"  # power level 50+ in the coordinators' room


class Where(enum.Flag):
    """The kinds of room a command belongs in."""

    DIRECT = enum.auto()
    VISIT_ROOM = enum.auto()
    COORDINATORS_ROOM = enum.auto()
    ANY = DIRECT | VISIT_ROOM | COORDINATORS_ROOM


Handler = Callable[[Any], Awaitable[None]]


@dataclass(frozen=True)
class Command:
    key: str
    names: dict[str, tuple[str, ...]]
    help: str  # English msgid, translated in the bot's catalog
    handler: Handler
    args: str = ""  # English msgid describing arguments, e.g. "<text>"
    permission: Permission = Permission.ANYONE
    where: Where = Where.ANY

    def name(self, lang: str) -> str:
        return self.names.get(lang, self.names["da"])[0]


@dataclass(frozen=True)
class Invocation:
    """A message understood as a command."""

    command: Command | None  # None: it looked like a command, but no such command
    word: str
    args: str
    lang: str | None  # the language of the word used, when the word tells


def fold(word: str) -> str:
    """Compare words the way people type them: case, accents and æøå variants."""
    word = word.strip().lower()
    for a, b in (("æ", "ae"), ("ø", "oe"), ("å", "aa")):
        word = word.replace(a, b)
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass
class CommandTable:
    """The commands of one bot."""

    domain: str
    commands: list[Command] = field(default_factory=list)

    def command(
        self,
        key: str,
        *,
        da: str | tuple[str, ...],
        en: str | tuple[str, ...],
        help: str,
        args: str = "",
        permission: Permission = Permission.ANYONE,
        where: Where = Where.ANY,
    ) -> Callable[[Handler], Handler]:
        """Declare the decorated coroutine as the handler of a command."""

        def register(handler: Handler) -> Handler:
            names = {
                "da": (da,) if isinstance(da, str) else da,
                "en": (en,) if isinstance(en, str) else en,
            }
            # One word may name two commands only in different kinds of room
            # (`!pause` for yourself in a direct room, `!pause @person` for coordinators).
            taken = {
                fold(n)
                for c in self.commands
                if c.where & where
                for ns in c.names.values()
                for n in ns
            }
            clash = taken & {fold(n) for ns in names.values() for n in ns}
            if clash:
                raise ValueError(f"command name(s) {sorted(clash)} declared twice")
            self.commands.append(Command(key, names, help, handler, args, permission, where))
            return handler

        return register

    def find(self, word: str, where: Where = Where.ANY) -> tuple[Command, str | None] | None:
        """The command a word names (preferring one that belongs in ``where``), and the
        language of that word if it tells."""
        folded = fold(word)
        found: list[tuple[Command, str | None]] = []
        for command in self.commands:
            langs = [
                lang for lang, names in command.names.items() if folded in {fold(n) for n in names}
            ]
            if langs:
                found.append((command, langs[0] if len(langs) == 1 else None))
        here = [f for f in found if f[0].where & where]
        if here:
            return here[0]
        return found[0] if found else None

    def parse(self, body: str, *, direct: bool, where: Where = Where.ANY) -> Invocation | None:
        """Understand a message as a command. In a direct room the ``!`` may be left out."""
        text = body.strip()
        if not text:
            return None
        prefixed = text.startswith(PREFIX)
        if prefixed:
            text = text[len(PREFIX) :].lstrip()
        elif not direct:
            return None
        word, _, args = text.partition(" ")
        word = word.rstrip("?.!,:")
        found = self.find(word, where)
        if found is None:
            # Plain words in a direct room are conversation, not a wrong command.
            return Invocation(None, word, args.strip(), None) if prefixed else None
        command, lang = found
        return Invocation(command, word, args.strip(), lang)

    def visible(self, where: Where, is_coordinator: bool) -> list[Command]:
        """The commands a person in this kind of room may use, for help."""
        return [
            c
            for c in self.commands
            if c.where & where and (c.permission is Permission.ANYONE or is_coordinator)
        ]


def declare_help(table: CommandTable) -> None:
    """Every bot's `!hjælp` / `!help`, generated from its own table."""

    @table.command(
        "help",
        da=("hjælp", "hjaelp", "hjælpe"),
        en=("help", "commands"),
        help="Show what I can help with",
    )
    async def show_help(ctx: Any) -> None:
        await ctx.runtime.reply_help(ctx)
