"""One declarative command table per bot.

A command is declared once, next to its handler, with its Danish and English
names, its arguments, the permission it needs, where it may be used and its help
text; `!hjælp` / `!help` is generated from these declarations, so help can never
drift from behaviour.

A word that names no command gets the nearest command's name back ("Mente du
!besøg?"), found with the same tolerance for typing as every other reader in connec
(:mod:`connec.spelling`). Visit rooms and the coordinators' room hold both bots,
each knowing only its own table: :data:`SHARED_ROOMS` names the one bot that answers
a word neither knows there, and the other bot's words it must leave alone.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from connec.spelling import Vocabulary, fold

__all__ = ["SHARED_ROOMS", "Command", "CommandTable", "Invocation", "Permission", "Where", "fold"]

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
    # For a word that names no command: the name of the command it most likely was.
    nearest: str | None = None
    # A command of the other bot in a room both bots are in: its words, not ours.
    elsewhere: bool = False


@dataclass(frozen=True)
class SharedRoom:
    """A kind of room both bots are in: who answers a word neither bot knows there,
    and the names of the other bot's commands there (so they are left to it)."""

    answered_by: str  # the domain of the bot that answers
    others: tuple[tuple[str, ...], ...]  # each command of the other bot: its names


SHARED_ROOMS: Mapping[Where, SharedRoom] = MappingProxyType(
    {
        # The scheduler lives in every visit room and circle; the matchmaker has only
        # `!afslut` there, and in circles `!forlad` and `!overdrag`.
        Where.VISIT_ROOM: SharedRoom(
            "scheduler",
            (
                ("afslut", "end"),
                ("forlad", "udmeld", "leave"),
                ("overdrag", "handover", "hand-over"),
            ),
        ),
        # The matchmaker runs the coordinators' room; the scheduler has only `!trivsel` there.
        Where.COORDINATORS_ROOM: SharedRoom("matchmaker", (("trivsel", "wellbeing"),)),
    }
)


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
            self._check_shared(key, names, where)
            self.commands.append(Command(key, names, help, handler, args, permission, where))
            return handler

        return register

    def _check_shared(self, key: str, names: dict[str, tuple[str, ...]], where: Where) -> None:
        """A command in a room both bots share, by the bot that does not answer there,
        must be listed in SHARED_ROOMS, or the other bot would call it a typo."""
        listed = {fold(n) for room in SHARED_ROOMS.values() for ns in room.others for n in ns}
        for kind, room in SHARED_ROOMS.items():
            if where is not Where.ANY and where & kind and room.answered_by != self.domain:
                missing = {fold(n) for ns in names.values() for n in ns} - listed
                if missing:
                    raise ValueError(f"command {key!r} is not listed in SHARED_ROOMS: {missing}")

    def answers_unknown(self, where: Where) -> bool:
        """Whether this bot answers a word no command has, in this kind of room."""
        room = SHARED_ROOMS.get(where)
        return room is None or room.answered_by == self.domain

    def _names_here(self, where: Where) -> list[str]:
        """Every command name that works in this kind of room (the other bot's too)."""
        names = [n for c in self.commands if c.where & where for ns in c.names.values() for n in ns]
        room = SHARED_ROOMS.get(where)
        if room is not None and room.answered_by == self.domain:
            names += [n for ns in room.others for n in ns]
        return names

    def nearest(self, word: str, where: Where = Where.ANY) -> str | None:
        """The name of the command a mistyped word most likely was, in this kind of room."""
        if len(word) < 3:
            return None
        names = Vocabulary(self._names_here(where))
        guess = names.guess(word)
        return names.exact(word) or (guess.word if guess is not None else None)

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
            if not prefixed:
                return None
            room = SHARED_ROOMS.get(where)
            others = {fold(n) for ns in room.others for n in ns} if room else set()
            if fold(word) in others:
                return Invocation(None, word, args.strip(), None, elsewhere=True)
            return Invocation(None, word, args.strip(), None, nearest=self.nearest(word, where))
        command, lang = found
        return Invocation(command, word, args.strip(), lang)

    def answers(self, invocation: Invocation, where: Where) -> bool:
        """Whether this bot answers a word that named none of its commands: always in a
        direct room; in a room both bots share, only the bot SHARED_ROOMS names, and
        never for the other bot's own commands. A word of no letters ("!!!") is no try
        at a command."""
        if invocation.elsewhere or not any(c.isalpha() for c in invocation.word):
            return False
        return self.answers_unknown(where)

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
