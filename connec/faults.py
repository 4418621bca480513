"""Faults injected into the running bots, and what they left behind.

`connec bench faults` (the long version) and ``tests/faults/`` (the short one) run the
same scenarios. The bots run as their own processes, started exactly as `connec up`
starts them, and are killed with SIGKILL at moments drawn from a seeded random
generator, then started again, until the work is done. What is counted afterwards is
what Synapse holds (rooms, their members, the events each bot sent), not what connec
believes it did:

- ``greeting``: people the matchmaker has not met (as after an import). Each must end
  with exactly one direct room with the matchmaker and one welcome in it.
- ``visit rooms``: pairs who both said yes. Each match must end with exactly one room
  holding both people, introduced once.
- ``reminders``: confirmed visits, one reminder each, falling due while the scheduler
  is killed and started again. Each reminder must be in its room exactly once.

A duplicate is a room or message too many; a loss is one missing when the parts had
all the time they needed.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nio
from sqlalchemy import func, select

from connec.db import Database
from connec.models import DirectRoom, OutboxMessage, Person
from connec.processes import ManagedProcess, wait_until
from connec.stack import bot_ready_text, child_command, child_env, part_answers
from connec.throwaway import Account, ThrowawaySynapse

MARKER_MATCH = "io.connec.match"
ENCRYPTED = "m.room.encrypted"
REMINDER_LEAD_S = 20.0  # from storing the visits to their reminders falling due


@dataclass
class Outcome:
    """What one scenario injected and found."""

    scenario: str
    items: int
    faults: int = 0
    duplicates: int = 0
    losses: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def found(self, problem: str, *, duplicate: bool) -> None:
        self.problems.append(problem)
        if duplicate:
            self.duplicates += 1
        else:
            self.losses += 1


class BotProcess:
    """One bot in its own process, as `connec up` runs it; killed with SIGKILL."""

    def __init__(self, stack: ThrowawaySynapse, name: str, logs: Path) -> None:
        settings = stack.settings
        self.name = name
        self.process = ManagedProcess(
            name,
            child_command(f"bot {name}", settings),
            logs / f"{name}.log",
            {**child_env(settings), "CONNEC_DATABASE_URL": settings.db_url},
        )
        port = getattr(settings, name).metrics_port
        self.metrics = f"http://127.0.0.1:{port}/metrics"

    async def start(self) -> None:
        self.process.start()
        await asyncio.to_thread(
            wait_until,
            lambda: part_answers(self.metrics, bot_ready_text(self.name)),
            timeout=120,
            process=self.process,
            what=f"the {self.name}",
        )

    def kill(self) -> None:
        popen = self.process.popen
        if popen is not None and popen.poll() is None:
            popen.kill()  # SIGKILL: no clean-up of any kind
            popen.wait(10)

    def stop(self) -> None:
        self.process.stop()


async def kill_while(
    bot: BotProcess,
    done: Callable[[], Awaitable[bool]],
    *,
    rng: random.Random,
    kills: int,
    window: tuple[float, float],
    timeout: float,
) -> int:
    """Kill ``bot`` ``kills`` times, each after a random time in ``window`` seconds of
    running, while ``done`` is not yet true; then let it finish. Answers the kills made."""
    made = 0
    deadline = time.monotonic() + timeout
    while made < kills and not await done():
        await asyncio.sleep(rng.uniform(*window))
        if await done():
            break
        bot.kill()
        made += 1
        await bot.start()
    while not await done():
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    return made


# --- People ------------------------------------------------------------------------------


async def people_with_devices(stack: ThrowawaySynapse, count: int, folder: Path) -> list[Account]:
    """People signed in on one device each, with its keys published, so a bot's messages
    to them go out (nobody reads them here: Synapse's record of them is what counts)."""
    accounts = [await stack.register("faults") for _ in range(count)]

    async def publish(account: Account) -> None:
        store = folder / account.user_id.strip("@").replace(":", "_")
        store.mkdir(parents=True, exist_ok=True)
        client = nio.AsyncClient(
            stack.url,
            account.user_id,
            device_id=account.device_id,
            store_path=str(store),
            config=nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
        )
        client.restore_login(account.user_id, account.device_id, account.access_token)
        try:
            if client.should_upload_keys:
                await client.keys_upload()
        finally:
            await client.close()

    gate = asyncio.Semaphore(8)

    async def one(account: Account) -> None:
        async with gate:
            await publish(account)

    await asyncio.gather(*(one(a) for a in accounts))
    return accounts


# --- What Synapse holds ------------------------------------------------------------------


async def rooms_with_members(stack: ThrowawaySynapse, bot: str) -> dict[str, dict[str, Any]]:
    """Every room ``bot`` is in: its people (invited or joined, bots aside) and state types."""
    admin = stack.admin
    joined = await admin.admin("GET", f"/v1/users/{quote(bot)}/joined_rooms")
    bots = {
        stack.settings.user_id(stack.settings.matchmaker.localpart),
        stack.settings.user_id(stack.settings.scheduler.localpart),
    }
    found: dict[str, dict[str, Any]] = {}
    for room_id in joined.get("joined_rooms", []):
        state = (await admin.admin("GET", f"/v1/rooms/{quote(room_id)}/state"))["state"]
        people = {
            e["state_key"]
            for e in state
            if e["type"] == "m.room.member"
            and e["content"].get("membership") in ("invite", "join")
            and e["state_key"] not in bots
        }
        found[room_id] = {
            "people": people,
            "types": {e["type"] for e in state},
            "match": next(
                (e["content"].get("match_id") for e in state if e["type"] == MARKER_MATCH), None
            ),
        }
    return found


async def sent_by(stack: ThrowawaySynapse, room_id: str, sender: str) -> int:
    """How many messages ``sender`` sent in a room, by Synapse's own record."""
    count, start = 0, None
    while True:
        params = {"dir": "f", "limit": "500"}
        if start:
            params["from"] = start
        page = await stack.admin.admin("GET", f"/v1/rooms/{quote(room_id)}/messages", params=params)
        count += sum(
            1
            for e in page.get("chunk", [])
            if e.get("sender") == sender and e.get("type") in (ENCRYPTED, "m.room.message")
        )
        start = page.get("end")
        if not page.get("chunk") or not start:
            return count


async def _sent_rows(db: Database, bot: str, room_id: str) -> int:
    async with db.session() as session:
        return int(
            await session.scalar(
                select(func.count()).where(
                    OutboxMessage.bot == bot,
                    OutboxMessage.room_id == room_id,
                    OutboxMessage.state == "sent",
                    OutboxMessage.event_id.is_not(None),
                )
            )
            or 0
        )


# --- Scenarios ---------------------------------------------------------------------------


async def greeting(
    stack: ThrowawaySynapse,
    db: Database,
    folder: Path,
    *,
    people: int,
    kills: int,
    rng: random.Random,
    timeout: float = 600,
) -> Outcome:
    """People the matchmaker has not met, greeted while it is killed again and again."""
    outcome = Outcome("matchmaker killed while greeting", people)
    accounts = await people_with_devices(stack, people, folder / "people")
    ids = [a.user_id for a in accounts]
    async with db.session() as session:
        session.add_all(
            Person(
                matrix_id=a.user_id,
                role="citizen",
                display_name=f"Person {i}",
                profile_complete=True,
            )
            for i, a in enumerate(accounts)
        )
    matchmaker = BotProcess(stack, "matchmaker", folder / "logs")
    started = time.monotonic()

    async def welcomed() -> bool:
        async with db.session() as session:
            rows = await session.scalar(
                select(func.count()).where(
                    DirectRoom.bot == "matchmaker",
                    DirectRoom.matrix_id.in_(ids),
                    DirectRoom.greeted_at.is_not(None),
                )
            )
            waiting = await session.scalar(
                select(func.count()).where(
                    OutboxMessage.bot == "matchmaker",
                    OutboxMessage.state == "waiting",
                    OutboxMessage.room_id.in_(
                        select(DirectRoom.room_id).where(DirectRoom.matrix_id.in_(ids))
                    ),
                )
            )
        return rows == people and waiting == 0

    await matchmaker.start()
    try:
        outcome.faults = await kill_while(
            matchmaker, welcomed, rng=rng, kills=kills, window=(0.3, 2.5), timeout=timeout
        )
    finally:
        matchmaker.stop()
    outcome.seconds = time.monotonic() - started

    bot = stack.settings.user_id(stack.settings.matchmaker.localpart)
    rooms = await rooms_with_members(stack, bot)
    direct: Counter[str] = Counter()
    room_of: dict[str, str] = {}
    for room_id, room in rooms.items():
        if room["match"] is None and len(room["people"]) == 1:
            (person,) = room["people"]
            direct[person] += 1
            room_of[person] = room_id
    for person in ids:
        if direct[person] == 0:
            outcome.found(f"{person} has no direct room", duplicate=False)
            continue
        if direct[person] > 1:
            outcome.found(f"{person} has {direct[person]} direct rooms", duplicate=True)
        room_id = room_of[person]
        events, rows = (
            await sent_by(stack, room_id, bot),
            await _sent_rows(db, "matchmaker", room_id),
        )
        if rows == 0:
            outcome.found(f"{person} was never welcomed", duplicate=False)
        elif events > rows:
            outcome.found(f"{person} got {events} messages for {rows} sent", duplicate=True)
        elif events < rows:
            outcome.found(
                f"{person}: {rows} messages marked sent, {events} arrived", duplicate=False
            )
    return outcome
