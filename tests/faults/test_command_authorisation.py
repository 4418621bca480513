"""Every coordinator command of both bots, for every role, for a worker of another
municipality and for someone of another server, in every kind of room: the matrix is
made from the bots' own command tables, so a new command cannot be left out.

Layer: the bots' real dispatch (parsing, the room's kind from the database, the
permission check on the room's power levels, the refusal's words), with the one Matrix
send replaced by a recorder. One refusal of each kind is also told through the real
Synapse in tests/bots/matchmaker/test_coordinator_commands.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nio
import pytest
from sqlalchemy import func, select

from bots.common.commands import Command, Permission, Where
from bots.common.runtime import BotRuntime
from bots.matchmaker.bot import Matchmaker
from bots.scheduler.bot import Scheduler
from connec.db import migrate
from connec.models import AuditEntry, DirectRoom, PendingAction
from connec.settings import load_settings

COORDINATORS_ROOM = "!coordinators:connec.test"
COORDINATOR = "@anne:connec.test"
# Everyone who must be refused, with the power the room gives them.
OUTSIDERS = {
    "citizen": "@karen:connec.test",
    "volunteer": "@bo:connec.test",
    "frontline worker of another municipality": "@frida:connec.test",
    "coordinator of another municipality without power here": "@ole:connec.test",
    "someone of another server": "@mallory:elsewhere.example",
    "someone of another server, given power by name": "@anne:elsewhere.example",
}


def coordinator_commands() -> list[tuple[str, Command]]:
    found = []
    for bot in (Matchmaker(), Scheduler()):
        found += [
            (bot.name, c) for c in bot.commands.commands if c.permission is Permission.COORDINATOR
        ]
    return found


COMMANDS = coordinator_commands()


def test_the_tables_hold_coordinator_commands() -> None:
    assert len(COMMANDS) >= 8, [c.key for _, c in COMMANDS]


def room(room_id: str, members: list[str], powers: dict[str, int]) -> nio.MatrixRoom:
    made = nio.MatrixRoom(room_id, "@matchmaker:connec.test")
    for member in members:
        made.add_member(member, None, None)
    made.power_levels = nio.PowerLevels(users=powers)
    return made


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, room_id: str, content: dict[str, Any], **_: Any) -> str:
        self.sent.append((room_id, content))
        return f"$sent{len(self.sent)}"


@pytest.fixture
async def runtimes(tmp_path: Path) -> dict[str, tuple[BotRuntime, Recorder]]:
    settings = load_settings(tmp_path, synapse={"server_name": "connec.test"})
    migrate(settings.db_url)
    made = {}
    for bot in (Matchmaker(), Scheduler()):
        runtime = BotRuntime(settings, bot)
        runtime.coordinators_room_id = COORDINATORS_ROOM
        recorder = Recorder()
        runtime.send_content = recorder  # type: ignore[method-assign]
        made[bot.name] = (runtime, recorder)
    async with made["matchmaker"][0].db.session() as session:
        for who in OUTSIDERS.values():
            session.add(DirectRoom(bot="matchmaker", matrix_id=who, room_id=f"!dm-{who}"))
            session.add(DirectRoom(bot="scheduler", matrix_id=who, room_id=f"!sdm-{who}"))
    return made


def message(sender: str, body: str, n: int) -> nio.RoomMessageText:
    return nio.RoomMessageText.from_dict(
        {
            "type": "m.room.message",
            "sender": sender,
            "event_id": f"$m{n}",
            "origin_server_ts": 0,
            "content": {"msgtype": "m.text", "body": body},
        }
    )


async def test_every_coordinator_command_refuses_everyone_without_a_coordinators_power(
    runtimes: dict[str, tuple[BotRuntime, Recorder]],
) -> None:
    wrong: list[str] = []
    n = others = 0
    for who, user_id in OUTSIDERS.items():
        # The coordinators' room (power 50 for the real coordinator and, by a mistake of
        # name only, nobody else), the person's own direct room, and a visit room.
        powers = {COORDINATOR: 100}
        rooms = {
            "the coordinators' room": room(
                COORDINATORS_ROOM, [COORDINATOR, user_id, "@matchmaker:connec.test"], powers
            ),
            "their direct room": None,
            "a visit room": room(
                "!visit:connec.test",
                [user_id, "@x:connec.test", "@matchmaker:connec.test", "@scheduler:connec.test"],
                {user_id: 100},
            ),
        }
        for bot, command in COMMANDS:
            runtime, recorder = runtimes[bot]
            direct = room(
                f"!dm-{user_id}" if bot == "matchmaker" else f"!sdm-{user_id}",
                [user_id, runtime.user_id],
                {user_id: 100},
            )
            for where, chat in rooms.items():
                chat = chat or direct
                for lang in ("da", "en"):
                    n += 1
                    before = len(recorder.sent)
                    body = f"!{command.name(lang)} @someone:connec.test 1 words"
                    where_kind = await runtime.room_kind(chat)
                    meant = runtime.bot.commands.parse(
                        body, direct=where_kind is Where.DIRECT, where=where_kind
                    )
                    assert meant is not None and meant.command is not None
                    if meant.command is not command:
                        # Here the word is a person's own command (!pause in a direct
                        # room pauses oneself): never a coordinator's.
                        assert meant.command.permission is Permission.ANYONE, body
                        others += 1
                        continue
                    await runtime._handle_text(chat, message(user_id, body, n))
                    replies = recorder.sent[before:]
                    words = " ".join(str(c.get("body", "")) for _, c in replies)
                    refused = any(
                        phrase in words
                        for phrase in (
                            "kun koordinatorer",
                            "only coordinators",
                            "Only coordinators",
                        )
                    )
                    if not refused:
                        wrong.append(f"{who}, {where}, {bot} {body!r}: {words[:80]!r}")
    async with runtimes["matchmaker"][0].db.session() as session:
        asked = await session.scalar(select(func.count()).select_from(PendingAction))
        audited = await session.scalar(select(func.count()).select_from(AuditEntry))
    assert wrong == []
    assert asked == 0 and audited == 0
    assert n == len(OUTSIDERS) * len(COMMANDS) * 3 * 2
    assert others < n / 4


def test_the_coordinator_with_power_in_the_coordinators_room_passes_the_check_there_only(
    runtimes: dict[str, tuple[BotRuntime, Recorder]],
) -> None:
    runtime, _ = runtimes["matchmaker"]
    theirs = room(COORDINATORS_ROOM, [COORDINATOR], {COORDINATOR: 50})
    assert runtime.is_coordinator(COORDINATOR, theirs)
    elsewhere = room("!visit:connec.test", [COORDINATOR], {COORDINATOR: 100})
    assert not runtime.is_coordinator(COORDINATOR, elsewhere)
    # Power is by exact Matrix ID: the same name on another server is someone else.
    assert not runtime.is_coordinator("@anne:elsewhere.example", theirs)
