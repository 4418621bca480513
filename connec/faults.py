"""Faults injected into the running bots, and what they left behind.

`connec bench faults` (the long version) and ``tests/faults/`` (the short one) run the
same scenarios. The bots run as their own processes, started exactly as `connec up`
starts them, and are killed with SIGKILL at moments drawn from a seeded random
generator, then started again, until the work is done. What is counted afterwards is
what Synapse holds (rooms, their members, the events each bot sent), not what connec
believes it did:

- ``greeting``: people the matchmaker has not met (as after an import). Each must end
  with exactly one direct room with the matchmaker and one welcome in it.
- ``visit_rooms``: pairs who both said yes. Each match must end with exactly one room
  holding both people, introduced once.
- ``reminders``: confirmed visits, each with its calendar file still to send and one
  reminder falling due while the scheduler is killed and started again. Each visit's
  room must get its calendar file and its reminder exactly once.
- ``synapse_stopped``: Synapse stopped under both bots and the portal while people are
  imported; everyone greeted once after, and the portal answering in words meanwhile.
- ``rate_limited``: the matchmaker without its exemption from Synapse's rate limits
  makes a burst of direct rooms; Synapse answers 429 (counted from its access log).

A duplicate is a room or message too many; a loss is one missing when the parts had
all the time they needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nio
from sqlalchemy import func, select

from connec.db import Database
from connec.models import Booking, DirectRoom, Match, OutboxMessage, Person, Reminder
from connec.processes import ManagedProcess, wait_until
from connec.stack import bot_ready_text, child_command, child_env, part_answers
from connec.synapse_admin import SynapseError
from connec.throwaway import Account, ThrowawaySynapse

MARKER_MATCH = "io.connec.match"
ENCRYPTED = "m.room.encrypted"
REMINDER_LEAD_S = 20.0  # from storing the visits to their reminders falling due
OUTAGE_S = 60.0
FASTER_LIMITS = """
rc_room_creation:
  per_second: 0.5
  burst_count: 5
rc_message:
  per_second: 1
  burst_count: 5
"""
RESTART_S = 16.0  # about what a bot takes to start again, and to run a little, here


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
    underway: Callable[[], Awaitable[bool]] | None = None,
) -> int:
    """Kill ``bot`` ``kills`` times, each after a random time in ``window`` seconds of
    running, while ``done`` is not yet true; then let it finish. Answers the kills made.

    ``underway``: when the work has begun. The first kill then comes within 0.2 s of
    that moment, so it lands in the work however fast the machine does it (a random
    wait alone can outlast a small scenario, and nothing is killed at all)."""
    made = 0
    deadline = time.monotonic() + timeout
    while made < kills and not await done():
        if made == 0 and underway is not None:
            while not await underway():
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.02)  # a kill's moment, not a test's wait
            await asyncio.sleep(rng.uniform(0.0, 0.2))
        else:
            await asyncio.sleep(rng.uniform(*window))
        if await done():
            break
        bot.kill()
        made += 1
        await bot.start()
    await until(done, deadline - time.monotonic())
    return made


async def until(check: Callable[[], Awaitable[bool]], timeout: float) -> bool:
    """Poll ``check`` until it is true or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.5)
    return await check()


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


async def newcomers(
    stack: ThrowawaySynapse, db: Database, folder: Path, people: int, *, store: bool = True
) -> tuple[list[str], Callable[[], Awaitable[None]]]:
    """People the matchmaker has not met (as after an import): their accounts now, and
    a step that stores them in connec (now, unless ``store`` is false)."""
    accounts = await people_with_devices(stack, people, folder / f"people-{time.monotonic_ns()}")

    async def add() -> None:
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

    if store:
        await add()
    return [a.user_id for a in accounts], add


async def _direct_rooms(session: Any, ids: list[str], *where: Any) -> int:
    """How many of ``ids`` have a matchmaker's direct-room row meeting ``where``."""
    rows = await session.scalar(
        select(func.count()).where(
            DirectRoom.bot == "matchmaker", DirectRoom.matrix_id.in_(ids), *where
        )
    )
    return int(rows or 0)


def all_welcomed(db: Database, ids: list[str]) -> Callable[[], Awaitable[bool]]:
    """Whether every one of ``ids`` has a direct room, greeted, with nothing waiting."""

    async def check() -> bool:
        async with db.session() as session:
            rows = await _direct_rooms(session, ids, DirectRoom.greeted_at.is_not(None))
            waiting = await session.scalar(
                select(func.count()).where(
                    OutboxMessage.bot == "matchmaker",
                    OutboxMessage.state == "waiting",
                    OutboxMessage.room_id.in_(
                        select(DirectRoom.room_id).where(DirectRoom.matrix_id.in_(ids))
                    ),
                )
            )
        return rows == len(ids) and waiting == 0

    return check


async def count_greetings(
    stack: ThrowawaySynapse, db: Database, ids: list[str], outcome: Outcome
) -> None:
    """One direct room and its messages once each, for every one of ``ids``, by Synapse."""
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
        events = await sent_by(stack, room_id, bot)
        rows = await _sent_rows(db, "matchmaker", room_id)
        if rows == 0:
            outcome.found(f"{person} was never welcomed", duplicate=False)
        elif events > rows:
            outcome.found(f"{person} got {events} messages for {rows} sent", duplicate=True)
        elif events < rows:
            outcome.found(
                f"{person}: {rows} messages marked sent, {events} arrived", duplicate=False
            )


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
    ids, _ = await newcomers(stack, db, folder, people)
    matchmaker = BotProcess(stack, "matchmaker", folder / "logs")
    started = time.monotonic()

    async def rooms_promised() -> bool:
        # A direct room's token is stored just before the room is made.
        async with db.session() as session:
            return await _direct_rooms(session, ids, DirectRoom.room_txn.is_not(None)) > 0

    await matchmaker.start()
    try:
        outcome.faults = await kill_while(
            matchmaker,
            all_welcomed(db, ids),
            rng=rng,
            kills=kills,
            window=(0.2, 1.5),
            timeout=timeout,
            underway=rooms_promised,
        )
    finally:
        matchmaker.stop()
    outcome.seconds = time.monotonic() - started
    await count_greetings(stack, db, ids, outcome)
    return outcome


class PortalProcess:
    """The portal in its own process, as `connec up` runs it."""

    def __init__(self, stack: ThrowawaySynapse, logs: Path) -> None:
        settings = stack.settings
        self.url = settings.portal.url
        self.process = ManagedProcess(
            "portal",
            child_command("portal", settings),
            logs / "portal.log",
            {**child_env(settings), "CONNEC_DATABASE_URL": settings.db_url},
        )

    async def start(self) -> None:
        self.process.start()
        await asyncio.to_thread(
            wait_until,
            lambda: part_answers(f"{self.url}/health", None),
            timeout=60,
            process=self.process,
            what="the portal",
        )

    async def answers(self, user: str, password: str) -> list[int]:
        """The landing page, the sign-in page and a real sign-in: their HTTP statuses
        (a page that says what is wrong in words has one below 500, or 503)."""
        import re

        import aiohttp

        statuses = []
        async with aiohttp.ClientSession() as http:
            for path in ("/", "/log-ind"):
                async with http.get(self.url + path) as response:
                    statuses.append(response.status)
                    page = await response.text()
            token = re.search(r'name="csrf_token" value="([^"]+)"', page)
            async with http.post(
                self.url + "/log-ind",
                data={
                    "csrf_token": token.group(1) if token else "",
                    "user": user,
                    "password": password,
                },
                allow_redirects=False,
            ) as response:
                statuses.append(response.status)
        return statuses

    def stop(self) -> None:
        self.process.stop()


def in_words(status: int) -> bool:
    return status < 500 or status == 503


async def synapse_stopped(
    stack: ThrowawaySynapse,
    db: Database,
    folder: Path,
    *,
    people: int,
    outage_s: float,
    timeout: float = 600,
) -> Outcome:
    """Synapse stopped for ``outage_s`` under both bots and the portal, while people are
    imported: everyone is greeted once after, and the portal answers in words meanwhile
    (a portal answer of 500, or none, counts as a loss)."""
    outcome = Outcome(f"Synapse stopped {outage_s:.0f} s under the bots and the portal", people)
    ids, add = await newcomers(stack, db, folder, people, store=False)
    someone = await stack.register("faults-portal")
    logs = folder / "logs"
    matchmaker, scheduler = (
        BotProcess(stack, "matchmaker", logs),
        BotProcess(stack, "scheduler", logs),
    )
    portal = PortalProcess(stack, logs)
    await matchmaker.start()
    await scheduler.start()
    await portal.start()
    started = time.monotonic()
    try:
        await asyncio.to_thread(stack.runner.stop)
        outcome.faults = 1
        await add()  # imported while Synapse is away
        down_until = time.monotonic() + outage_s
        while time.monotonic() < down_until:
            try:
                statuses = await portal.answers(someone.user_id, someone.password)
            except OSError as error:
                outcome.found(f"the portal did not answer: {error}", duplicate=False)
            else:
                for status in statuses:
                    if not in_words(status):
                        outcome.found(f"the portal answered {status}", duplicate=False)
            await asyncio.sleep(min(5.0, max(0.0, down_until - time.monotonic())))
        await asyncio.to_thread(stack.start_again)
        if not await until(all_welcomed(db, ids), timeout):
            outcome.problems.append("not everyone was greeted in time")
        for part in (matchmaker, scheduler):
            if not part.process.alive():
                outcome.found(f"the {part.name} stopped during the outage", duplicate=False)
    finally:
        for part in (matchmaker, scheduler):
            part.stop()
        portal.stop()
    outcome.seconds = time.monotonic() - started
    await count_greetings(stack, db, ids, outcome)
    return outcome


def refused_by_synapse(stack: ThrowawaySynapse) -> int:
    """How many requests of the matchmaker Synapse has answered 429, by its access log."""
    log = stack.settings.paths.logs / "synapse.log"
    if not log.exists():
        return 0
    bot = stack.settings.user_id(stack.settings.matchmaker.localpart)
    return sum(
        1
        for line in log.read_text(errors="replace").splitlines()
        if f"{{{bot}}}" in line and ' 429 "' in line
    )


async def rate_limited(
    stack: ThrowawaySynapse, db: Database, folder: Path, *, people: int, timeout: float = 1800
) -> Outcome:
    """A burst of ``people`` direct rooms made by a matchmaker without its exemption from
    Synapse's rate limits (Synapse answers 429): each person one room, one welcome."""
    outcome = Outcome(f"{people} room creations answered 429, without the exemption", people)
    bot = stack.settings.user_id(stack.settings.matchmaker.localpart)
    ids, _ = await newcomers(stack, db, folder, people)
    with contextlib.suppress(SynapseError):  # not exempt to begin with
        await stack.admin.admin("DELETE", f"/v1/users/{quote(bot)}/override_ratelimit")
    matchmaker = BotProcess(stack, "matchmaker", folder / "logs")
    refused_before = refused_by_synapse(stack)
    started = time.monotonic()
    try:
        await matchmaker.start()
        if not await until(all_welcomed(db, ids), timeout):
            outcome.problems.append("not everyone was greeted in time")
    finally:
        matchmaker.stop()
        await stack.admin.exempt_from_rate_limits(bot)
    outcome.seconds = time.monotonic() - started
    outcome.faults = refused_by_synapse(stack) - refused_before
    await count_greetings(stack, db, ids, outcome)
    return outcome


async def _people(
    stack: ThrowawaySynapse, db: Database, folder: Path, pairs: int
) -> list[tuple[Person, Person]]:
    """2 × ``pairs`` people who have met the matchmaker already (no welcome is due, so
    none competes with what is counted)."""
    accounts = await people_with_devices(stack, 2 * pairs, folder / "people")
    async with db.session() as session:
        rows = [
            Person(
                matrix_id=a.user_id,
                role="citizen" if i % 2 == 0 else "volunteer",
                display_name=f"Person {i}",
                profile_complete=True,
            )
            for i, a in enumerate(accounts)
        ]
        session.add_all(rows)
        session.add_all(
            DirectRoom(
                bot="matchmaker",
                matrix_id=a.user_id,
                room_id=f"!faults-{a.user_id.strip('@')}",
                greeted_at=datetime.now(UTC),
            )
            for a in accounts
        )
    return [(rows[2 * i], rows[2 * i + 1]) for i in range(pairs)]


async def visit_rooms(
    stack: ThrowawaySynapse,
    db: Database,
    folder: Path,
    scheduler: BotProcess,
    *,
    pairs: int,
    kills: int,
    rng: random.Random,
    timeout: float = 600,
) -> tuple[Outcome, list[int]]:
    """Pairs who both said yes; the matchmaker makes, invites and introduces their rooms
    while it is killed again and again. Answers the outcome and the matches."""
    outcome = Outcome("matchmaker killed across room → invite → introduction", pairs)
    couples = await _people(stack, db, folder, pairs)
    async with db.session() as session:
        matches = [Match(a_id=a.id, b_id=b.id, state="accepted") for a, b in couples]
        session.add_all(matches)
        await session.flush()
        match_ids = [m.id for m in matches]
    matchmaker = BotProcess(stack, "matchmaker", folder / "logs")
    started = time.monotonic()

    async def introduced() -> bool:
        async with db.session() as session:
            done = await session.scalar(
                select(func.count()).where(Match.id.in_(match_ids), Match.state == "introduced")
            )
            waiting = await session.scalar(
                select(func.count()).where(
                    OutboxMessage.bot == "matchmaker",
                    OutboxMessage.state == "waiting",
                    OutboxMessage.room_id.in_(select(Match.room_id).where(Match.id.in_(match_ids))),
                )
            )
        return done == pairs and waiting == 0

    async def rooms_promised() -> bool:
        # A room's token is stored just before the room is made.
        async with db.session() as session:
            promised = await session.scalar(
                select(func.count()).where(Match.id.in_(match_ids), Match.room_txn.is_not(None))
            )
        return bool(promised)

    await matchmaker.start()
    try:
        outcome.faults = await kill_while(
            matchmaker,
            introduced,
            rng=rng,
            kills=kills,
            window=(0.2, 1.5),
            timeout=timeout,
            underway=rooms_promised,
        )
    finally:
        matchmaker.stop()
    outcome.seconds = time.monotonic() - started

    bot = stack.settings.user_id(stack.settings.matchmaker.localpart)
    rooms = await rooms_with_members(stack, bot)
    for (a, b), match_id in zip(couples, match_ids, strict=True):
        theirs = [r for r, room in rooms.items() if {a.matrix_id, b.matrix_id} <= room["people"]]
        if not theirs:
            outcome.found(f"match {match_id} has no room", duplicate=False)
            continue
        if len(theirs) > 1:
            outcome.found(f"match {match_id} has {len(theirs)} rooms", duplicate=True)
        for room_id in theirs:
            events, rows = (
                await sent_by(stack, room_id, bot),
                await _sent_rows(db, "matchmaker", room_id),
            )
            if rows == 0:
                outcome.found(f"match {match_id} was never introduced", duplicate=False)
            elif events != rows:
                outcome.found(
                    f"match {match_id}: {events} messages for {rows} sent",
                    duplicate=events > rows,
                )
    # The scheduler joins every visit room it is invited to (the reminders need it).
    await scheduler.start()

    async def scheduler_in_all() -> bool:
        joined = await stack.admin.admin(
            "GET",
            f"/v1/users/{quote(stack.settings.user_id(stack.settings.scheduler.localpart))}"
            "/joined_rooms",
        )
        async with db.session() as session:
            wanted = set(
                await session.scalars(select(Match.room_id).where(Match.id.in_(match_ids)))
            )
        return wanted <= set(joined.get("joined_rooms", []))

    await until(scheduler_in_all, timeout)
    scheduler.stop()
    return outcome, match_ids


async def reminders(
    stack: ThrowawaySynapse,
    db: Database,
    folder: Path,
    scheduler: BotProcess,
    match_ids: list[int],
    *,
    kills: int,
    rng: random.Random,
    timeout: float = 600,
) -> Outcome:
    """One confirmed visit per match, its calendar file still to send and its reminder
    falling due while the scheduler is killed again and again (the visits and reminders
    are stored first, as a confirmation does)."""
    outcome = Outcome(
        "scheduler killed across confirmation (calendar file) and reminders", len(match_ids)
    )
    now = datetime.now(UTC)
    spread = max(REMINDER_LEAD_S, kills * RESTART_S)
    async with db.session() as session:
        matches = (await session.scalars(select(Match).where(Match.id.in_(match_ids)))).all()
        reminder_rows = []
        for match in matches:
            # Spread over as long as the kills take, so that each kill finds some due.
            due = now + timedelta(seconds=REMINDER_LEAD_S + rng.uniform(0, spread))
            starts = due + timedelta(minutes=2)
            booking = Booking(
                match_id=match.id,
                room_id=match.room_id or "",
                booked_by="faults",
                starts_at=starts,
                state="confirmed",
            )
            session.add(booking)
            await session.flush()
            reminder = Reminder(
                booking_id=booking.id,
                occurrence_at=starts,
                kind="before",
                offset_minutes=2,
                due_at=due,
                state="pending",
            )
            session.add(reminder)
            reminder_rows.append(reminder)
        await session.flush()
        reminder_ids = [r.id for r in reminder_rows]
    bot = stack.settings.user_id(stack.settings.scheduler.localpart)
    # What the scheduler said in each room before (its hello when it joined).
    before = {m.room_id: await sent_by(stack, m.room_id or "", bot) for m in matches}
    started = time.monotonic()

    async def all_sent() -> bool:
        async with db.session() as session:
            pending = await session.scalar(
                select(func.count()).where(
                    Reminder.id.in_(reminder_ids), Reminder.state == "pending"
                )
            )
            waiting = await session.scalar(
                select(func.count()).where(
                    OutboxMessage.bot == "scheduler",
                    OutboxMessage.state == "waiting",
                    OutboxMessage.room_id.in_(select(Match.room_id).where(Match.id.in_(match_ids))),
                )
            )
            no_calendar = await session.scalar(
                select(func.count()).where(
                    Booking.match_id.in_(match_ids), Booking.calendar_mxc.is_(None)
                )
            )
        return pending == 0 and waiting == 0 and no_calendar == 0

    await scheduler.start()
    try:
        outcome.faults = await kill_while(
            scheduler,
            all_sent,
            rng=rng,
            kills=kills,
            window=(1.0, 8.0),
            timeout=timeout,
        )
    finally:
        scheduler.stop()
    outcome.seconds = time.monotonic() - started

    async with db.session() as session:
        rows = (
            await session.execute(
                select(Reminder.id, Reminder.state, Booking.room_id)
                .join(Booking, Booking.id == Reminder.booking_id)
                .where(Reminder.id.in_(reminder_ids))
            )
        ).all()
    for reminder_id, state, room_id in rows:
        if state != "sent":
            outcome.found(f"reminder {reminder_id} ended {state}", duplicate=False)
            continue
        # Each visit's room: its calendar file (the confirmation's) and its reminder,
        # exactly two messages more than before.
        events = await sent_by(stack, room_id, bot) - before[room_id]
        if events != 2:
            outcome.found(
                f"visit of reminder {reminder_id}: {events} messages, not 2", duplicate=events > 2
            )
    return outcome


# --- `connec bench faults` ---------------------------------------------------------------


async def _kills(
    stack: ThrowawaySynapse,
    db: Database,
    folder: Path,
    *,
    people: int,
    kills: int,
    rng: random.Random,
    done: Callable[[Outcome], None],
    say: Callable[[str], None],
) -> None:
    long = 900 + kills * 40  # seconds each scenario may take, kills and restarts included
    say(f"greeting {people} people, killing the matchmaker {kills} times")
    done(await greeting(stack, db, folder, people=people, kills=kills, rng=rng, timeout=long))
    scheduler = BotProcess(stack, "scheduler", folder / "logs")
    say(f"{people // 2} visit rooms, killing the matchmaker {kills} times")
    made, match_ids = await visit_rooms(
        stack, db, folder, scheduler, pairs=people // 2, kills=kills, rng=rng, timeout=long
    )
    done(made)
    say(f"{len(match_ids)} reminders, killing the scheduler {kills} times")
    done(
        await reminders(stack, db, folder, scheduler, match_ids, kills=kills, rng=rng, timeout=long)
    )


async def run_all(
    folder: Path,
    *,
    people: int,
    kills: int,
    seed: int,
    say: Callable[[str], None],
    only: str | None = None,
) -> list[Outcome]:
    """The long version: a throw-away Synapse of its own, every scenario in turn (or
    ``only`` one part: "kills", "outage" or "rate-limits")."""
    stack = ThrowawaySynapse(folder / "data", server_name="faults.test")
    await stack.start()
    db = Database(stack.settings.db_url)
    rng = random.Random(seed)
    outcomes: list[Outcome] = []

    def done(outcome: Outcome) -> None:
        # Printed as each ends: a long run cut short still has its figures.
        outcomes.append(outcome)
        say(
            f"  {outcome.scenario}: {outcome.items} items, {outcome.faults} faults injected, "
            f"{outcome.duplicates} duplicates, {outcome.losses} losses, {outcome.seconds:.0f} s"
        )

    try:
        if only in (None, "kills"):
            await _kills(stack, db, folder, people=people, kills=kills, rng=rng, done=done, say=say)
        if only in (None, "outage"):
            say(f"Synapse stopped for {OUTAGE_S:.0f} s while {people // 4} people are imported")
            done(await synapse_stopped(stack, db, folder, people=people // 4, outage_s=OUTAGE_S))
        if only not in (None, "rate-limits"):
            return outcomes
        # Synapse's default for room creation (one a minute after a burst of 10) would
        # take hours for 200 rooms; these keep the 429s and end in minutes.
        with stack.settings.paths.homeserver_yaml.open("a") as config:
            config.write(FASTER_LIMITS)
        await asyncio.to_thread(stack.restart)
        say(f"{people} room creations without the matchmaker's exemption")
        done(await rate_limited(stack, db, folder, people=people))
    finally:
        await db.close()
        await stack.stop()
    return outcomes


def main(
    console: Any, *, people: int, kills: int, seed: int | None, only: str | None = None
) -> int:
    """Print faults injected, duplicates and losses for each scenario; 1 if any."""
    from rich.table import Table

    seed = seed if seed is not None else random.SystemRandom().randrange(10**6)
    console.print(f"seed {seed} (repeat with --seed {seed})")
    folder = Path(tempfile.mkdtemp(prefix="connec-bench-faults-"))
    outcomes = asyncio.run(
        run_all(folder, people=people, kills=kills, seed=seed, say=console.print, only=only)
    )
    table = Table("scenario", "items", "faults injected", "duplicates", "losses", "seconds")
    for o in outcomes:
        table.add_row(
            o.scenario,
            str(o.items),
            str(o.faults),
            str(o.duplicates),
            str(o.losses),
            f"{o.seconds:.0f}",
        )
    console.print(table)
    for o in outcomes:
        for problem in o.problems:
            console.print(f"[red]{o.scenario}: {problem}[/red]")
    console.print(f"logs and stores: {folder}")
    return 1 if any(o.problems for o in outcomes) else 0
