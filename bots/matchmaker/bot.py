"""The matchmaker bot: learns who people are, proposes pairs, creates visit rooms,
and takes concerns and coordinators' commands.

One file per job: ``intake.py`` (the dialogue in a person's direct room),
``commands_profile.py`` (!profil, !ret, !pause, !fortsæt), ``matching.py`` (a matching
round), ``proposals.py`` (asking both people, their answers), ``circles.py`` (small
interest groups with a host: wishes, asking, their rooms, leaving), ``rooms.py`` (the visit
room's state machine and endings), ``concerns.py`` (!bekymring) and
``commands_circles.py`` (!cirkler, !ny-cirkel, !luk-cirkel),
``commands_coordinator.py`` (the coordinators' room, its commands that change
asking first through ``asking.py``) and ``welcome.py`` (greeting
people enrolled, approved or imported). Each declares its commands on
the one table below, so help is generated from all of them.
"""

from __future__ import annotations

from pathlib import Path

import nio

from bots.common.commands import declare_help
from bots.common.messages import Messages
from bots.common.runtime import Bot, BotRuntime, MessageContext
from bots.matchmaker import (
    asking,
    circles,
    commands_circles,  # noqa: F401 - declares its commands on the table
    commands_coordinator,
    commands_profile,
    concerns,
    intake,
    matching,
    proposals,
    rooms,
    welcome,
)
from bots.matchmaker.table import COMMANDS

declare_help(COMMANDS)


class Matchmaker(Bot):
    name = "matchmaker"
    commands = COMMANDS
    messages = Messages("matchmaker", Path(__file__).parent / "templates")

    async def on_text(self, ctx: MessageContext) -> None:
        # The words after a bare !bekymring come first (they are the concern), then an
        # answer inside an open dialogue ("1" mid-intake is not a yes to a proposal),
        # then a yes or no to a proposal, then the rest.
        for handler in (
            concerns.on_text,
            intake.continue_dialogue,
            proposals.on_text,
            circles.on_text,
            rooms.on_text,
            commands_coordinator.on_text,
            intake.on_text,
        ):
            if await handler(ctx):
                return
        await super().on_text(ctx)

    async def on_reaction(
        self, runtime: BotRuntime, room: nio.MatrixRoom, event: nio.ReactionEvent
    ) -> None:
        for handler in (
            proposals.on_reaction,
            circles.on_reaction,
            commands_coordinator.on_reaction,
            rooms.on_reaction,
        ):
            if await handler(runtime, room, event):
                return

    async def on_member(
        self, runtime: BotRuntime, room: nio.MatrixRoom, event: nio.RoomMemberEvent
    ) -> None:
        await rooms.on_member(runtime, room, event)

    async def greet(self, runtime: BotRuntime, room_id: str, person: str, lang: str) -> None:
        await super().greet(runtime, room_id, person, lang)
        await intake.after_greeting(runtime, room_id, person, lang)

    async def on_direct_room_opened(self, runtime: BotRuntime, room_id: str, person: str) -> None:
        await welcome.say_welcome(runtime, room_id, person)
        await intake.after_greeting(runtime, room_id, person, await runtime.language_of(person))

    async def on_new_device(self, runtime: BotRuntime, person: str, device_ids: list[str]) -> None:
        await proposals.ask_again(runtime, person, device_ids)
        await circles.ask_again(runtime, person, device_ids)
        await intake.ask_again(runtime, person, device_ids)

    async def on_start(self, runtime: BotRuntime) -> None:
        await intake.on_start(runtime)
        await proposals.on_start(runtime)
        await rooms.on_start(runtime)
        await circles.on_start(runtime)
        await matching.on_start(runtime)
        await concerns.on_start(runtime)
        await asking.on_start(runtime)
        await commands_profile.on_start(runtime)
        await welcome.on_start(runtime)

    async def on_stop(self, runtime: BotRuntime) -> None:
        await matching.on_stop(runtime)
