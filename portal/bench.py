"""`connec bench portal`: how fast the portal answers 50 people at once, on loopback.

Self-contained: the portal runs as its own process on a throw-away data folder (so
no real data is touched and no Synapse is needed), and 50 concurrent clients, each
with its own cookies like a browser, measure

- the landing page (GET /),
- a volunteer sign-up form post that is stored (POST /frivillig, 303),
- a sign-up form post with a mistake, answered with the whole form again (400).

Printed: requests per second, median and p99 latency. Target: p99 under 100 ms.
The exit code is 1 when a target is missed, so scripts can tell.
"""

from __future__ import annotations

import asyncio
import gc
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from rich.console import Console
from rich.table import Table

from connec.db import migrate
from connec.secrets import ensure_secrets
from connec.settings import Settings, load_settings
from connec.synapse_process import free_port

CLIENTS = 50
REQUESTS = 2000  # per scenario, after a warm-up
WARM_UP = 200
TARGET_P99_MS = 100.0
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')

_SERVER = """
import sys
from connec.settings import load_settings
from portal.main import main
main(load_settings(sys.argv[1]))
"""


@dataclass(frozen=True)
class Result:
    """What one scenario measured."""

    name: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return 0.0
        index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
        return ordered[index]

    @property
    def p99(self) -> float:
        return self.percentile(0.99)

    @property
    def median(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else 0.0


def sign_up(n: int, *, valid: bool) -> dict[str, str | list[str]]:
    """A volunteer's sign-up; unique per request, so each stored one is a new person."""
    return {
        "name": f"Bench Frivillig {n}",
        "email": f"bench{n}@example.dk",
        "birth_day": "24",
        "birth_month": "12",
        "birth_year": "1980" if valid else "2020",
        "municipality": "Aarhus",
        "languages": ["da"],
        "interests": ["jazz", "gardening"],
        "interest_words": "Kim Larsen",
        "contact_modes": ["chat"],
        "availability": ["tue-am", "thu-pm"],
        "capacity": "1",
        "motivation": "Jeg vil gerne hjælpe.",
        "consent": "yes",
    }


def _pairs(values: dict[str, str | list[str]], token: str) -> list[tuple[str, str]]:
    pairs = [("csrf_token", token)]
    for key, value in values.items():
        if isinstance(value, list):
            pairs.extend((key, v) for v in value)
        else:
            pairs.append((key, value))
    return pairs


@dataclass
class Client:
    """One simulated person: their own connection, cookies, and form token."""

    session: aiohttp.ClientSession
    token: str


Step = Callable[[Client, str, int], Awaitable[bool]]


async def _landing(client: Client, base: str, n: int) -> bool:
    async with client.session.get(base + "/") as response:
        await response.read()
        return response.status == 200


def _post(valid: bool) -> Step:
    async def step(client: Client, base: str, n: int) -> bool:
        async with client.session.post(
            base + "/frivillig",
            data=_pairs(sign_up(n, valid=valid), client.token),
            allow_redirects=False,
        ) as response:
            await response.read()
            return response.status == (303 if valid else 400)

    return step


async def _new_client(base: str) -> Client:
    """A client with its own cookies and the form token its session got, like a browser."""
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=1),
        timeout=aiohttp.ClientTimeout(total=30),
        cookie_jar=aiohttp.CookieJar(unsafe=True),  # keep cookies for 127.0.0.1, as browsers do
    )
    async with session.get(base + "/frivillig") as response:
        match = _TOKEN.search(await response.text())
    return Client(session, match.group(1) if match else "")


async def _run(
    name: str, step: Step, base: str, clients: list[Client], total: int, first: int
) -> Result:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(first, first + total))

    async def worker(client: Client) -> None:
        nonlocal errors
        for n in counter:
            started = time.perf_counter()
            try:
                ok = await step(client, base, n)
            except (aiohttp.ClientError, TimeoutError):
                ok = False
            latencies.append((time.perf_counter() - started) * 1000)
            errors += not ok

    started = time.perf_counter()
    await asyncio.gather(*(worker(client) for client in clients))
    return Result(name, total, errors, time.perf_counter() - started, latencies)


async def _wait_until_up(base: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("the portal stopped while starting")
            try:
                async with session.get(base + "/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the portal did not answer within 30 s")


async def measure(
    base: str, *, clients: int = CLIENTS, requests: int | None = None
) -> list[Result]:
    """Run every scenario against the portal at ``base``; the results in order."""
    requests = requests or REQUESTS
    people = [await _new_client(base) for _ in range(clients)]
    # The measuring side's own garbage collections would count as the portal's
    # latency: keep what is loaded out of their sight, as the portal does.
    gc.collect()
    gc.freeze()
    try:
        scenarios: list[tuple[str, Step]] = [
            ("landing page (GET /)", _landing),
            ("sign-up stored (POST /frivillig)", _post(valid=True)),
            ("sign-up with a mistake (POST /frivillig)", _post(valid=False)),
        ]
        results = []
        first = 0
        for name, step in scenarios:
            await _run(name, step, base, people, WARM_UP, first)
            first += WARM_UP
            results.append(await _run(name, step, base, people, requests, first))
            first += requests
        return results
    finally:
        gc.unfreeze()
        for client in people:
            await client.session.close()


def _table(results: list[Result], clients: int) -> Table:
    table = Table(title=f"connec portal: {clients} concurrent clients on loopback")
    for column in ("scenario", "requests", "errors", "req/s", "median ms", "p99 ms", "target"):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for result in results:
        ok = result.p99 < TARGET_P99_MS and result.errors == 0
        table.add_row(
            result.name,
            str(result.requests),
            str(result.errors),
            f"{result.per_second:,.0f}",
            f"{result.median:.1f}",
            f"{result.p99:.1f}",
            "[green]p99 < 100 ms[/green]" if ok else "[red]missed[/red]",
        )
    return table


def main(settings: Settings, console: Console) -> int:
    """Measure the portal on a throw-away data folder; 1 if a target is missed."""
    with tempfile.TemporaryDirectory(prefix="connec-bench-portal-") as folder:
        bench_settings = load_settings(
            Path(folder),
            portal={"host": "127.0.0.1", "port": free_port()},
            synapse={"server_name": settings.synapse.server_name},
            log_level="WARNING",
        )
        ensure_secrets(bench_settings.paths.secrets)
        migrate(bench_settings.db_url)
        base = bench_settings.portal.url
        environment = {
            **os.environ,
            "CONNEC_LOG_LEVEL": "WARNING",
            "CONNEC_PORTAL__HOST": "127.0.0.1",
            "CONNEC_PORTAL__PORT": str(bench_settings.portal.port),
            "CONNEC_SYNAPSE__SERVER_NAME": bench_settings.synapse.server_name,
        }
        process = subprocess.Popen(
            [sys.executable, "-c", _SERVER, folder],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            asyncio.run(_wait_until_up(base, process))
            with console.status("measuring the portal..."):
                results = asyncio.run(measure(base))
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
    console.print(_table(results, CLIENTS))
    missed = [r for r in results if r.p99 >= TARGET_P99_MS or r.errors]
    return 1 if missed else 0
