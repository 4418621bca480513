"""`connec bench scheduler`: 10,000 confirmed visits, two reminders each, after a restart.

Everything runs in this process against a temporary SQLite database made by the
migrations, with the scheduler's own code: the timer is rebuilt from the tables as
at a real start, and reminders fire through the same path as in the bot; only the
Matrix send is replaced by one that records when each reminder actually went out.
Meanwhile a second task plays the people in the visit rooms, listing and booking
visits as fast as a busy service would see them, through the same handlers.

Printed: the time to load the pending reminders and build the jobs (target under
5 s), memory (tracemalloc peak of the load and the process' RSS), and how late
reminders fire, p50 and p99 (target p99 under 1 s), with how quickly messages
were answered meanwhile.
"""

from __future__ import annotations

import asyncio
import gc
import random
import resource
import statistics
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import insert, update

from bots.common.commands import Where
from bots.common.runtime import txn_id
from bots.scheduler import booking, reminders
from bots.scheduler.bot import Scheduler
from bots.scheduler.reminders import BEFORE, PENDING, Timer
from connec.clock import SystemClock
from connec.db import Database, migrate
from connec.models import Booking, HandledEvent, Match, Person, Reminder
from connec.settings import Settings

VISITS = 10_000
IN_WINDOW = 5_000  # visits whose day-before reminder falls due while we watch
WINDOW = timedelta(seconds=20)
LEAD = timedelta(seconds=6)  # from the data being ready to the first reminder due
MESSAGES_PER_SECOND = 25
RESTART_TARGET_S = 5.0
P99_TARGET_S = 1.0


@dataclass
class Recorder:
    """The stand-in for Matrix: records when each reminder was sent, against its due time."""

    messages: Any
    due_by_txn: dict[str, datetime] = field(default_factory=dict)
    lateness: list[float] = field(default_factory=list)
    replies: int = 0

    async def send(
        self,
        room_id: str,
        template: str,
        lang: str | None,
        *,
        txn: str,
        mentions: list[str] | None = None,
        **values: Any,
    ) -> str:
        sent = datetime.now(UTC)
        self.messages.render(template, lang, **values)  # rendering is part of the work
        due = self.due_by_txn.get(txn)
        if due is not None:
            self.lateness.append((sent - due).total_seconds())
        else:
            self.replies += 1
        return f"$bench-{txn}"


class BenchRuntime:
    """What the scheduler's jobs use of a BotRuntime, with sending recorded."""

    def __init__(self, settings: Settings, db: Database, recorder: Recorder) -> None:
        self.settings = settings
        self.db = db
        self.clock = SystemClock()
        self.bot = Scheduler()
        self.coordinators_room_id = "!coordinators:bench"
        self.user_id = "@scheduler:bench"
        self._recorder = recorder

    async def send(self, room_id: str, template: str, lang: str | None, **kw: Any) -> str:
        return await self._recorder.send(room_id, template, lang, **kw)

    async def post(self, room_id: str, template: str, lang: str | None, **kw: Any) -> str:
        """What the bot starts on its own goes through the outbox; here everyone can read."""
        for outbox_only in ("readers", "subjects", "ref", "expires_at"):
            kw.pop(outbox_only, None)
        return await self._recorder.send(room_id, template, lang, **kw)

    async def language_of(self, user_id: str) -> str:
        return "da"


async def make_visits(db: Database, now: datetime) -> list[int]:
    """10,000 pairs with a confirmed visit each and its two pending reminders.

    Answers the day-before reminders of the visits watched in the window.
    """
    people = [
        {"id": i + 1, "matrix_id": f"@p{i}:bench", "role": "citizen" if i % 2 else "volunteer",
         "display_name": f"Person {i}", "language": "da", "timezone": "Europe/Copenhagen"}
        for i in range(2 * VISITS)
    ]  # fmt: skip
    matches, bookings, rows = [], [], []
    later = now + timedelta(days=2)
    for i in range(VISITS):
        match_id = i + 1
        matches.append(
            {"id": match_id, "a_id": 2 * i + 1, "b_id": 2 * i + 2, "state": "introduced",
             "room_id": f"!room{i}:bench", "introduced_at": now, "last_activity_at": now}
        )  # fmt: skip
        # Watched visits start tomorrow (their day-before reminder is moved into the
        # window below); the others are spread over the coming week.
        start = later + timedelta(minutes=i) if i >= IN_WINDOW else later
        bookings.append(
            {"id": i + 1, "match_id": match_id, "room_id": f"!room{i}:bench",
             "booked_by": f"@p{2 * i}:bench", "starts_at": start, "zone": "Europe/Copenhagen",
             "duration_minutes": 30, "contact_mode": "video", "weekly": False,
             "state": "confirmed", "confirmed_by": f"@p{2 * i + 1}:bench",
             "created_at": now, "updated_at": now}
        )  # fmt: skip
        for offset in (24 * 60, 15):
            rows.append(
                {"id": 2 * i + (1 if offset == 15 else 0) + 1, "booking_id": i + 1,
                 "occurrence_at": start, "kind": BEFORE, "offset_minutes": offset,
                 "person_id": None, "due_at": start - timedelta(minutes=offset),
                 "state": PENDING}
            )  # fmt: skip
    async with db.session() as session:
        for model, values in ((Person, people), (Match, matches), (Booking, bookings)):
            await session.execute(insert(model), values)
        await session.execute(insert(Reminder), rows)
    return [2 * i + 1 for i in range(IN_WINDOW)]


async def into_window(db: Database, watched: list[int], first: datetime) -> None:
    """Move the watched visits so their day-before reminders fall due over the window."""
    step = WINDOW / len(watched)
    reminder_rows, booking_rows = [], []
    for n, reminder_id in enumerate(watched):
        due = first + n * step
        start = due + timedelta(days=1)
        booking_id = (reminder_id + 1) // 2
        booking_rows.append({"id": booking_id, "starts_at": start})
        reminder_rows.append({"id": reminder_id, "due_at": due, "occurrence_at": start})
        reminder_rows.append(
            {"id": reminder_id + 1, "due_at": start - timedelta(minutes=15), "occurrence_at": start}
        )
    async with db.session() as session:
        # Bulk UPDATE by primary key.
        await session.execute(update(Booking), booking_rows)
        await session.execute(update(Reminder), reminder_rows)


async def restart(runtime: BenchRuntime) -> tuple[Timer, float, float, int]:
    """What a start does: read the pending reminders and build the timer's jobs."""
    timer = Timer(runtime.clock, lambda rid: reminders.fire(runtime, rid))  # type: ignore[arg-type]
    began = time.perf_counter()
    pending = await reminders.pending_reminders(runtime)  # type: ignore[arg-type]
    loaded = time.perf_counter()
    now = runtime.clock.now()
    timer.start((rid, due) for rid, due in pending if due > now)
    built = time.perf_counter()
    return timer, loaded - began, built - loaded, len(pending)


async def talk(runtime: BenchRuntime, until: float, latencies: list[float]) -> None:
    """People in visit rooms listing and booking visits while the reminders go out."""
    rng = random.Random(4)
    n = 0
    while time.perf_counter() < until:
        n += 1
        i = rng.randrange(VISITS)
        words = (
            "" if n % 2 else rng.choice(["torsdag kl 14", "i morgen 10.30", "hver onsdag kl 10"])
        )
        event_id = f"$msg{n}:bench"
        ctx = SimpleNamespace(
            runtime=runtime,
            room=SimpleNamespace(room_id=f"!room{i}:bench"),
            event=SimpleNamespace(event_id=event_id, source={}),
            sender=f"@p{2 * i}:bench",
            body=f"!besøg {words}",
            args=words,
            lang="da",
            where=Where.VISIT_ROOM,
        )
        began = time.perf_counter()
        # As the runtime does: exactly-once bookkeeping around the handler.
        async with runtime.db.session() as session:
            await session.get(HandledEvent, ("scheduler", event_id))
        await booking.visit_command(ctx)
        async with runtime.db.session() as session:
            session.add(HandledEvent(bot="scheduler", event_id=event_id, room_id=ctx.room.room_id))
        latencies.append(time.perf_counter() - began)
        await asyncio.sleep(max(0.0, 1 / MESSAGES_PER_SECOND - (time.perf_counter() - began)))


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process, in MB."""
    current = 0.0
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                current = int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return current, peak


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(settings: Settings, console: Console) -> int:
    with tempfile.TemporaryDirectory(prefix="connec-bench-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        await asyncio.to_thread(migrate, url)
        db = Database(url)
        recorder = Recorder(Scheduler.messages)
        runtime = BenchRuntime(settings, db, recorder)
        try:
            console.print(f"Making {VISITS:,} confirmed visits with two reminders each…")
            watched = await make_visits(db, datetime.now(UTC))

            # Memory of a restart, measured apart: tracing slows Python down.
            gc.collect()
            tracemalloc.start()
            timer, _, _, _ = await restart(runtime)
            _, traced_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            timer.shutdown()
            del timer
            gc.collect()

            first_due = datetime.now(UTC) + LEAD
            await into_window(db, watched, first_due)
            recorder.due_by_txn = {
                txn_id("reminder", str(rid)): first_due + n * (WINDOW / len(watched))
                for n, rid in enumerate(watched)
            }
            timer, load_s, build_s, pending = await restart(runtime)
            jobs = len(timer)
            rss_now, _ = rss_mb()

            latencies: list[float] = []
            end = time.perf_counter() + (first_due - datetime.now(UTC)).total_seconds()
            end += WINDOW.total_seconds() + 2
            await talk(runtime, end, latencies)
            await asyncio.sleep(0.5)
            timer.shutdown()
            _, rss_peak = rss_mb()
        finally:
            await db.close()

    restart_s = load_s + build_s
    late = recorder.lateness
    p50, p99 = percentile(late, 50), percentile(late, 99)
    table = Table(title="connec bench scheduler")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    ok = "[green]✓[/green]"
    bad = "[red]✗[/red]"
    table.add_row("pending reminders loaded", f"{pending:,}", "")
    table.add_row("jobs built", f"{jobs:,}", "")
    table.add_row("load from the tables", f"{load_s:.2f} s", "")
    table.add_row("build the APScheduler jobs", f"{build_s:.2f} s", "")
    table.add_row(
        "restart in all",
        f"{restart_s:.2f} s",
        f"< {RESTART_TARGET_S:.0f} s {ok if restart_s < RESTART_TARGET_S else bad}",
    )
    table.add_row("memory: tracemalloc peak of a restart", f"{traced_peak / 2**20:.1f} MB", "")
    table.add_row("memory: RSS after restart / peak", f"{rss_now:.0f} / {rss_peak:.0f} MB", "")
    table.add_row(
        "reminders fired in the window",
        f"{len(late):,} of {len(watched):,}",
        f"{ok if len(late) == len(watched) else bad}",
    )
    table.add_row("fire rate", f"{len(watched) / WINDOW.total_seconds():.0f} per s", "")
    table.add_row("lateness p50", f"{p50 * 1000:.0f} ms", "")
    table.add_row(
        "lateness p99", f"{p99 * 1000:.0f} ms", f"< {P99_TARGET_S * 1000:.0f} ms "
        f"{ok if p99 < P99_TARGET_S else bad}"
    )  # fmt: skip
    table.add_row("lateness max", f"{max(late, default=float('nan')) * 1000:.0f} ms", "")
    table.add_row("messages answered meanwhile", f"{len(latencies):,}", "")
    table.add_row(
        "answer time p50 / p99",
        f"{percentile(latencies, 50) * 1000:.0f} / {percentile(latencies, 99) * 1000:.0f} ms",
        "",
    )
    console.print(table)
    if late:
        console.print(f"mean lateness {statistics.fmean(late) * 1000:.0f} ms")
    met = restart_s < RESTART_TARGET_S and p99 < P99_TARGET_S and len(late) == len(watched)
    return 0 if met else 1


def main(settings: Settings, console: Console) -> int:
    """Run the benchmark and print its figures; 0 if the targets are met."""
    return asyncio.run(run(settings, console))
