"""`connec bench scheduler --real N`: N visits due at one minute, through a real Synapse.

Unlike `connec bench scheduler` (which replaces the Matrix send to time a restart with
10,000 visits), this one goes through everything a reminder goes through:

1. A throw-away Synapse on loopback (connec/throwaway.py; with ``--postgres URL`` on
   PostgreSQL, as in production) and both bots in this process.
2. 2N people, each signed in on an encrypting nio client with its keys published
   before anything else; the clients run in a second process at a lower priority
   (in life they are phones elsewhere), accept invitations as they come and write
   down when each message arrives. Their loneliness was asked at enrolment, so the
   scheduler's care job asks nobody meanwhile.
3. N pairs said yes (N accepted matches): the matchmaker makes N visit rooms, invites
   both people and the scheduler, and introduces them. Timed until every room exists
   and until every ice-breaker was sent.
4. N visits booked for the same minute, each with a reminder 2 minutes before, handed
   to the scheduler's timer as a confirmation does. The scheduler shares each room's
   key ahead of time (its "prepare" job), then sends them, starting early enough to
   end by the due time.
5. Reported: lateness of the reminders at the clients and by the server's
   ``origin_server_ts`` (p50/p95/p99/max), how many rooms got exactly one reminder,
   and how many client copies could not be decrypted. ``--crash`` runs the scheduler
   in its own process for the burst, kills it with SIGKILL half a second into it
   (connec/faults.py's machinery) and starts it again on the same data: still
   exactly one reminder a room.

Targets (2 cores): 100 visits, p99 ≤ 1 s late at the clients; 1,000, p99 ≤ 3 s; 100
accepted matches made into introduced rooms within 30 s.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nio
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from bots.common.runtime import BotRuntime, txn_id
from bots.matchmaker.bot import Matchmaker
from bots.scheduler import reminders
from bots.scheduler.bot import Scheduler
from connec.db import Database
from connec.faults import BotProcess
from connec.models import (
    Booking,
    DirectRoom,
    Match,
    OutboxMessage,
    Person,
    Reminder,
    WellbeingAnswer,
)
from connec.settings import Settings
from connec.synapse_config import synapse_workers
from connec.synapse_process import free_port
from connec.throwaway import Account, ThrowawaySynapse, synapse_database

WORDS = "🔔"  # every reminder starts with the bell
LEAD = timedelta(seconds=50)  # from the bookings to the reminders falling due


def _lead(visits: int) -> timedelta:
    """From the bookings to the reminders falling due.

    50 s up to 100 visits. A bigger crowd is booked as in life, well before: at
    least as long ahead as the scheduler looks when it shares rooms' keys, less one
    of its rounds, so every room is prepared before its minute starts.
    """
    if visits <= 100:
        return LEAD
    return reminders.PREPARE_AHEAD - reminders.PREPARE_EVERY


OFFSET_MINUTES = 2
TARGETS = {100: 1.0, 1000: 3.0}  # p99 lateness at the clients, by N
ROOMS_TARGET_S = 30.0


def _quantiles(values: list[float]) -> tuple[float, float, float, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]

    return statistics.median(ordered), at(0.95), at(0.99), ordered[-1]


# --- The people's side: a second process ----------------------------------------------


async def _client(
    spec: dict[str, Any], folder: Path, seen: list[dict[str, Any]], signed_in: asyncio.Event
) -> None:
    store = folder / spec["user_id"].strip("@").replace(":", "_")
    store.mkdir(parents=True, exist_ok=True)
    client = nio.AsyncClient(
        spec["url"],
        spec["user_id"],
        device_id=spec["device_id"],
        store_path=str(store),
        config=nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
    )
    client.restore_login(spec["user_id"], spec["device_id"], spec["token"])
    if client.should_upload_keys:
        await client.keys_upload()
    client.homeserver = spec["sync_url"]  # a worker, where there is one
    signed_in.set()  # the device and its keys are there, as on a phone used before
    joined: set[str] = set()
    undecrypted: dict[str, Any] = {}
    first = True
    try:
        while True:
            # Full state once, as an app does when it starts; then a long poll. (A full
            # state sync is answered at once, so asking for one until the first room
            # came made every client without a room ask Synapse again and again.)
            response = await client.sync(timeout=30_000, full_state=first)
            first = False
            if not isinstance(response, nio.SyncResponse):
                await asyncio.sleep(0.5)
                continue
            arrived = time.time()
            for room_id in response.rooms.invite:
                if room_id not in joined:
                    await client.join(room_id)
                    joined.add(room_id)
            for room_id, info in response.rooms.join.items():
                joined.add(room_id)
                for event in info.timeline.events:
                    if isinstance(event, nio.MegolmEvent):
                        undecrypted[event.event_id] = (room_id, event)
                    elif isinstance(event, nio.RoomMessageText) and WORDS in event.body:
                        seen.append(_seen(spec, room_id, event, arrived, True))
            for event_id, (room_id, event) in list(undecrypted.items()):
                try:
                    opened = client.decrypt_event(event)
                except nio.EncryptionError:
                    continue  # its key is on its way (a worker relays it): next sync
                if isinstance(opened, nio.RoomMessageText):
                    del undecrypted[event_id]
                    if WORDS in opened.body:
                        seen.append(_seen(spec, room_id, opened, arrived, True))
            for room_id, event in undecrypted.values():
                if event.sender.startswith("@scheduler:") and not any(
                    s["event_id"] == event.event_id for s in seen
                ):
                    seen.append(_seen(spec, room_id, event, arrived, False))
    finally:
        await client.close()


def _seen(spec: dict[str, Any], room: str, event: Any, arrived: float, readable: bool) -> dict:
    return {
        "user_id": spec["user_id"],
        "room": room,
        "event_id": event.event_id,
        "ts": event.server_timestamp / 1000,
        "arrived": arrived,
        "readable": readable,
    }


async def _clients_main(spec_file: Path, out_file: Path) -> None:
    # The people's devices are phones and tablets elsewhere: here they share the
    # server's two cores, so they give way to it (their requests load Synapse as ever).
    os.nice(10)
    specs = json.loads(await asyncio.to_thread(spec_file.read_text))
    folder = spec_file.parent / "client-stores"
    seen: list[dict[str, Any]] = []
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    signed_in = [asyncio.Event() for _ in specs]
    tasks = [
        asyncio.create_task(_client(spec, folder, seen, event))
        for spec, event in zip(specs, signed_in, strict=True)
    ]
    # Ready when every device has published its keys: people signed in long before
    # their friendship began, and the bots find their devices at the first look.
    for event in signed_in:
        await event.wait()
    (spec_file.parent / "clients-ready").write_text("")
    await stop.wait()
    for task in tasks:
        task.cancel()
    for outcome in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(outcome, Exception):
            print(f"a client failed: {outcome!r}", file=sys.stderr)
    await asyncio.to_thread(out_file.write_text, json.dumps(seen))


# --- The bench ------------------------------------------------------------------------


async def _start(runtime: BotRuntime) -> asyncio.Task[None]:
    task = asyncio.create_task(runtime.run())
    await asyncio.wait_for(runtime.ready.wait(), 120)
    return task


async def _stop(runtime: BotRuntime, task: asyncio.Task[None]) -> None:
    runtime.stop()
    try:
        await asyncio.wait_for(task, 30)
    except TimeoutError:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _wait(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        await asyncio.sleep(0.2)  # the bench watches the bots' own tables


async def run(
    console: Console,
    visits: int,
    *,
    crash: bool,
    postgres: str | None = None,
    redis: str | None = None,
) -> bool:
    """``postgres``: a PostgreSQL server to run Synapse on, as in production (a
    throw-away database is made there); otherwise Synapse's embedded SQLite.
    ``redis``: with it, one generic worker beside the main process, which answers
    the people's requests (their syncs and joins, as the documented routing sends
    them; their keys go to the main process before)."""
    if postgres is None:
        return await _run(console, visits, crash, {})
    with synapse_database(postgres) as dsn:
        synapse: dict[str, Any] = {"postgres_dsn": dsn}
        if redis:
            synapse |= {
                "workers": 1,
                "redis_url": redis,
                "worker_port": free_port(),
                "replication_port": free_port(),
            }
        console.print(
            "Synapse on PostgreSQL (a throw-away database)"
            + (", with a worker for the people's syncs" if redis else "")
        )
        return await _run(console, visits, crash, synapse)


async def _run(console: Console, visits: int, crash: bool, synapse: dict[str, Any]) -> bool:
    folder = Path(tempfile.mkdtemp(prefix="connec-bench-real-"))
    stack = ThrowawaySynapse(folder / "data", server_name="bench.test", **synapse)
    clients: asyncio.subprocess.Process | None = None
    process: BotProcess | None = None
    out_before_kill: int | None = None
    bots: list[tuple[BotRuntime, asyncio.Task[None]]] = []
    try:
        await stack.start()
        settings = stack.settings
        workers = synapse_workers(settings)
        db = Database(settings.db_url)
        # Accounts side by side (Synapse hashes each password in a thread): not timed.
        gate = asyncio.Semaphore(8)

        async def register(i: int) -> Account:
            async with gate:
                return await stack.register(f"p{i}")

        people = list(await asyncio.gather(*(register(i) for i in range(2 * visits))))
        spec = folder / "clients.json"
        spec.write_text(
            json.dumps(
                [
                    {
                        "url": stack.url,
                        "sync_url": workers[0].url if workers else stack.url,
                        "user_id": a.user_id,
                        "device_id": a.device_id,
                        "token": a.access_token,
                    }
                    for a in people
                ]
            )
        )
        results = folder / "seen.json"
        clients = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bots.scheduler.bench_real", str(spec), str(results)
        )

        async def clients_ready() -> bool:
            return (folder / "clients-ready").exists()

        await _wait(clients_ready, 120, "the people's clients to start")
        async with db.session() as session:
            rows = [
                Person(
                    matrix_id=a.user_id,
                    role="citizen" if i % 2 == 0 else "volunteer",
                    display_name=f"Person {i}",
                    profile_complete=True,
                )
                for i, a in enumerate(people)
            ]
            session.add_all(rows)
            await session.flush()
            # They have talked with the matchmaker before (their yes came in their
            # direct rooms); no welcome is due, so none competes with the rooms timed.
            session.add_all(
                DirectRoom(bot="matchmaker", matrix_id=a.user_id, room_id=f"!dm{i}:bench.test")
                for i, a in enumerate(people)
            )
            # Their loneliness was asked at enrolment, so the scheduler's care job asks
            # nobody during the bench (a new friendship is not a new question).
            day_ago = datetime.now(UTC) - timedelta(days=1)
            session.add_all(
                WellbeingAnswer(person_id=row.id, asked_at=day_ago, answered_at=day_ago)
                for row in rows
                if row.role == "citizen"
            )
            # Two yeses each: N accepted matches, as the second yes leaves them.
            session.add_all(
                Match(a_id=rows[2 * i].id, b_id=rows[2 * i + 1].id, state="accepted")
                for i in range(visits)
            )
        for bot in (Matchmaker(), Scheduler()):
            runtime = BotRuntime(settings, bot)
            bots.append((runtime, await _start(runtime)))
        matchmaker, scheduler = bots[0][0], bots[1][0]

        made_from = time.monotonic()
        matchmaker.wake("visit rooms")

        # Where the time goes: the moment every room existed (made, with its invitations).
        stages: dict[str, float] = {}

        async def introduced() -> bool:
            async with db.session() as session:
                made = await session.scalar(select(func.count()).where(Match.room_id.is_not(None)))
                if made == visits:
                    stages.setdefault("made", time.monotonic() - made_from)
                done = await session.scalar(select(func.count()).where(Match.state == "introduced"))
                sent = await session.scalar(
                    select(func.count()).where(
                        OutboxMessage.bot == "matchmaker",
                        OutboxMessage.state == "sent",
                        OutboxMessage.room_id.in_(select(Match.room_id)),
                    )
                )
            return done == visits and (sent or 0) >= visits

        # Limits for the bench to give up, not targets: they grow with the crowd.
        limit = max(600.0, 1.5 * visits)
        await _wait(introduced, limit, "the visit rooms to be made and introduced")
        rooms_s = time.monotonic() - made_from
        console.print(
            f"every visit room made (created, people and scheduler invited): "
            f"{stages.get('made', rooms_s):.1f} s; every ice-breaker out: {rooms_s:.1f} s"
        )

        async def scheduler_in_all() -> bool:
            async with db.session() as session:
                room_ids = (await session.scalars(select(Match.room_id))).all()
            assert scheduler.client is not None
            return all(
                r in scheduler.client.rooms
                and {m for m in scheduler.client.rooms[r].users} >= {scheduler.user_id}
                for r in room_ids
            )

        await _wait(scheduler_in_all, limit, "the scheduler in every visit room")

        if crash:
            # From here the scheduler runs in its own process, as `connec up` runs it,
            # so that it can be killed with SIGKILL mid-burst: it stops cleanly now and
            # finds the reminders in the database when it starts.
            runtime, task = bots.pop()
            await _stop(runtime, task)

        # N visits at the same minute, each with a reminder OFFSET_MINUTES before.
        lead = _lead(visits)
        due_at = datetime.now(UTC) + lead
        starts = due_at + timedelta(minutes=OFFSET_MINUTES)
        async with db.session() as session:
            matches = (await session.scalars(select(Match).order_by(Match.id))).all()
            pending = []
            for match in matches:
                booking = Booking(
                    match_id=match.id,
                    room_id=match.room_id,
                    booked_by=people[0].user_id,
                    starts_at=starts,
                    state="confirmed",
                    created_at=datetime.now(UTC),
                    updated_at=datetime.now(UTC),
                )
                session.add(booking)
                await session.flush()
                reminder = Reminder(
                    booking_id=booking.id,
                    occurrence_at=starts,
                    kind=reminders.BEFORE,
                    offset_minutes=OFFSET_MINUTES,
                    due_at=due_at,
                    state=reminders.PENDING,
                )
                session.add(reminder)
                pending.append(reminder)
        if crash:
            process = BotProcess(stack, "scheduler", folder)
            await process.start()
            # The burst starts early enough to end by the due time (reminders.py's
            # SEND_RATE); half a second into it, some reminders are out and most not.
            burst = due_at - reminders.ahead_of(visits) + timedelta(seconds=0.5)
            await asyncio.sleep(max(0.0, (burst - datetime.now(UTC)).total_seconds()))
            process.kill()  # SIGKILL mid-burst: no clean-up of any kind
            out_before_kill = await _reminders_out(db, pending)
            await process.start()
        else:
            reminders.schedule(scheduler, pending)

        async def all_sent() -> bool:
            async with db.session() as session:
                left = await session.scalar(
                    select(func.count()).where(Reminder.state == reminders.PENDING)
                )
            # A reminder is handled once posted; it is out once its outbox row is sent.
            return left == 0 and await _reminders_out(db, pending) == visits

        waited = lead.total_seconds() + 120
        try:
            await _wait(all_sent, waited, "every reminder out")
        except TimeoutError:
            out = await _reminders_out(db, pending)
            console.print(
                f"[red]after {waited:.0f} s only {out} of {visits} reminders were out[/red]"
            )
        # Let the last copies reach the clients, then collect.
        await asyncio.sleep(5)  # a figure's settling time, not a test's wait
        await db.close()
    finally:
        for runtime, task in bots:
            await _stop(runtime, task)
        if process is not None:
            process.stop()
        if clients is not None and clients.returncode is None:
            clients.send_signal(signal.SIGTERM)
            await clients.wait()
        seen: list[dict[str, Any]] = (
            json.loads((folder / "seen.json").read_text())
            if (folder / "seen.json").exists()
            else []
        )
        await stack.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return _report(console, visits, out_before_kill, rooms_s, due_at.timestamp(), seen)


async def _reminders_out(db: Database, pending: list[Reminder]) -> int:
    """How many of these reminders Synapse has taken (their outbox rows are marked
    sent one by one, as each goes out)."""
    txns = [txn_id("reminder", str(r.id)) for r in pending]
    async with db.session() as session:
        out = await session.scalar(
            select(func.count()).where(
                OutboxMessage.bot == "scheduler",
                OutboxMessage.txn.in_(txns),
                OutboxMessage.state == "sent",
            )
        )
    return out or 0


def _report(
    console: Console,
    visits: int,
    out_before_kill: int | None,
    rooms_s: float,
    due: float,
    seen: list[dict],
) -> bool:
    readable = [s for s in seen if s["readable"]]
    unreadable = [s for s in seen if not s["readable"]]
    per_room: dict[str, set[str]] = {}
    for s in readable:
        per_room.setdefault(s["room"], set()).add(s["event_id"])
    exactly_once = sum(1 for events in per_room.values() if len(events) == 1)
    twice = sum(1 for events in per_room.values() if len(events) > 1)
    at_clients = [s["arrived"] - due for s in readable]
    by_server = [e["ts"] - due for e in {s["event_id"]: s for s in readable}.values()]
    table = Table(
        title=f"{visits} visits due at one minute, through Synapse"
        + (" (scheduler killed mid-burst)" if out_before_kill is not None else "")
    )
    for column in ("lateness", "p50", "p95", "p99", "max"):
        table.add_column(column, justify="right" if column != "lateness" else "left")
    for label, values in (("at the clients", at_clients), ("origin_server_ts", by_server)):
        if values:
            table.add_row(label, *(f"{v:.2f} s" for v in _quantiles(values)))
    console.print(table)
    target = TARGETS.get(visits)
    p99 = _quantiles(at_clients)[2] if at_clients else float("inf")
    console.print(
        f"visit rooms made, invited and introduced: {rooms_s:.1f} s for {visits} "
        f"(target {ROOMS_TARGET_S:.0f} s for 100)\n"
        f"rooms with exactly one reminder: {exactly_once} of {visits}; with two or more: "
        f"{twice}; client copies: {len(readable)} readable, {len(unreadable)} not"
    )
    if out_before_kill is not None:
        console.print(f"reminders out when the scheduler was killed: {out_before_kill} of {visits}")
    ok = exactly_once == visits and not twice and not unreadable
    if target is not None:
        ok = ok and p99 <= target
        console.print(f"target: p99 at the clients ≤ {target:.0f} s")
    if visits == 100:
        ok = ok and rooms_s <= ROOMS_TARGET_S
    return ok


def main(
    settings: Settings,
    console: Console,
    visits: int,
    crash: bool = False,
    postgres: str | None = None,
    redis: str | None = None,
) -> int:
    """The command's body (settings are not used: the stack is a throw-away one)."""
    logging.getLogger("nio").setLevel(logging.ERROR)
    if redis and not postgres:
        console.print("[red]--redis needs --postgres: Synapse workers need PostgreSQL[/red]")
        return 2
    # Stopped (SIGTERM) as by Ctrl-C, so the throw-away stack is stopped with it.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    done = asyncio.run(run(console, visits, crash=crash, postgres=postgres, redis=redis))
    return 0 if done else 1


if __name__ == "__main__":
    # The people's clients, started by :func:`run` in a process of their own.
    logging.getLogger("nio").setLevel(logging.ERROR)
    asyncio.run(_clients_main(Path(sys.argv[1]), Path(sys.argv[2])))
