"""`connec up` and `connec status`: the whole stack on loopback, and how it is doing."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connec.db import migrate
from connec.processes import ManagedProcess, StartError, http_ok, pid_alive, wait_until
from connec.provision import FACT_COORDINATORS_ROOM, prepare_files, provision_accounts
from connec.settings import Settings
from connec.synapse_process import (
    CoturnRunner,
    SynapseRunner,
    coturn_installed,
    free_port,
    port_free,
)

STOP_WITHIN = 8.0  # seconds for every child to go after SIGTERM; Ctrl-C is done within 10 s
READY_TIMEOUT = 90.0
WATCH_EVERY = 0.5  # seconds between two looks at a part


@dataclass
class Part:
    """One long-running part of the stack and how to tell it is ready."""

    process: ManagedProcess
    ready_url: str
    ready_text: str | None = None

    def is_ready(self) -> bool:
        return part_answers(self.ready_url, self.ready_text)


class CrashLoop:
    """The stops of one part within a sliding window, and how long to wait before a restart.

    Pure: the clock is passed in. A part that stops ``limit`` times within ``window``
    seconds is in a crash loop; stops longer ago are forgotten, so a part that stops
    once a week is restarted for ever.
    """

    def __init__(
        self,
        *,
        limit: int,
        window: float,
        backoff_max: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.backoff_max = backoff_max
        self.clock = clock
        self._stops: deque[float] = deque()

    def stopped(self) -> int:
        """Count one stop now; the stops within the window, this one included."""
        now = self.clock()
        self._stops.append(now)
        while self._stops and self._stops[0] <= now - self.window:
            self._stops.popleft()
        return len(self._stops)

    @property
    def looping(self) -> bool:
        return len(self._stops) >= self.limit

    def backoff(self) -> float:
        """Seconds to wait before the next start: 1, 2, 4, ... up to ``backoff_max``."""
        return float(min(2 ** max(len(self._stops) - 1, 0), self.backoff_max))


@dataclass
class Watch:
    """One part as the supervisor watches it (a bot, the portal, Synapse, coturn)."""

    name: str
    alive: Callable[[], bool]
    restart: Callable[[], None]
    log: Path
    exit_code: Callable[[], int | None] = lambda: None


def part_answers(url: str, text: str | None) -> bool:
    """Whether a part's health or metrics URL answers (and, for bots, says ready)."""
    if text is None:
        return http_ok(url)
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return text in response.read().decode()
    except OSError:
        return False


def bot_ready_text(bot: str) -> str:
    return f'connec_bot_ready{{bot="{bot}"}} 1.0'


def child_command(part: str, settings: Settings) -> list[str]:
    return [sys.executable, "-m", "connec.cli", *part.split(), "--data-dir", str(settings.data_dir)]


def child_env(settings: Settings) -> dict[str, str]:
    """Ports chosen on the command line reach the children through the environment."""
    return {
        "CONNEC_SYNAPSE__PORT": str(settings.synapse.port),
        "CONNEC_PORTAL__PORT": str(settings.portal.port),
        "CONNEC_MATCHMAKER__METRICS_PORT": str(settings.matchmaker.metrics_port),
        "CONNEC_SCHEDULER__METRICS_PORT": str(settings.scheduler.metrics_port),
        "PYTHONUNBUFFERED": "1",
    }


def with_free_ports(settings: Settings) -> Settings:
    """Port 0 means: any free loopback port (tests, several stacks on one machine)."""
    updates: dict[str, Any] = {}
    synapse_ports = {
        key: free_port() for key in ("port", "metrics_port") if getattr(settings.synapse, key) == 0
    }
    if synapse_ports:
        updates["synapse"] = settings.synapse.model_copy(update=synapse_ports)
    if settings.portal.port == 0:
        updates["portal"] = settings.portal.model_copy(update={"port": free_port()})
    for bot in ("matchmaker", "scheduler"):
        bot_settings = getattr(settings, bot)
        if bot_settings.metrics_port == 0:
            updates[bot] = bot_settings.model_copy(update={"metrics_port": free_port()})
    return settings.model_copy(update=updates) if updates else settings


class Stack:
    """Synapse, both bots and the portal, started in order and stopped together."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.synapse = SynapseRunner(settings)
        self.coturn: CoturnRunner | None = None
        if settings.synapse.coturn:
            if coturn_installed():
                self.coturn = CoturnRunner(settings)
            else:
                # Chat works without TURN; calls between people behind NAT do not.
                print(
                    "synapse.coturn is on but coturn is not installed (apt-get install coturn); "
                    "starting without it, so some calls may not connect.",
                    file=sys.stderr,
                )
        logs = settings.paths.logs
        env = child_env(settings)
        self.parts: dict[str, Part] = {}
        for bot in ("matchmaker", "scheduler"):
            port = getattr(settings, bot).metrics_port
            self.parts[bot] = Part(
                ManagedProcess(
                    bot, child_command(f"bot {bot}", settings), logs / f"{bot}.log", env
                ),
                f"http://127.0.0.1:{port}/metrics",
                bot_ready_text(bot),
            )
        self.parts["portal"] = Part(
            ManagedProcess("portal", child_command("portal", settings), logs / "portal.log", env),
            f"{settings.portal.url}/health",
        )
        self.facts: dict[str, str] = {}
        self._stop = threading.Event()
        self._file_lock = threading.Lock()
        self._gave_up: str | None = None

    def keep_open(self, fd: int) -> None:
        """Every process of the stack inherits ``fd`` (the data folder's lock)."""
        processes = [p.process for p in self.parts.values()]
        processes += [self.synapse.process, *self.synapse.workers]
        if self.coturn is not None:
            processes.append(self.coturn.process)
        for process in processes:
            process.pass_fds = (fd,)

    def start(self) -> None:
        """Everything up, in order; on any failure, what started is stopped again."""
        settings = self.settings
        for name, port in (
            ("the portal", settings.portal.port),
            ("the matchmaker's metrics", settings.matchmaker.metrics_port),
            ("the scheduler's metrics", settings.scheduler.metrics_port),
        ):
            if not port_free("127.0.0.1", port):
                raise StartError(f"Port {port} is already taken, so {name} cannot listen there.")
        secrets = prepare_files(settings)
        try:
            self.synapse.start()
            if self.coturn is not None:
                self.coturn.start()
            migrate(settings.db_url)
            self.facts = asyncio.run(provision_accounts(settings, secrets))
            for part in self.parts.values():
                part.process.start()
            for name, part in self.parts.items():
                wait_until(
                    part.is_ready, timeout=READY_TIMEOUT, process=part.process, what=f"The {name}"
                )
        except BaseException:
            self.stop()
            raise
        self.write_stack_file()

    def describe(self) -> dict[str, Any]:
        settings = self.settings
        return {
            "homeserver_url": settings.synapse.url,
            "synapse_metrics_url": f"http://127.0.0.1:{settings.synapse.metrics_port}/_synapse/metrics",
            "client_url": settings.synapse.client_url,
            "server_name": settings.synapse.server_name,
            "portal_url": settings.portal.url,
            "element_config": str(settings.paths.element / "config.json"),
            "coordinators_room_id": self.facts.get(FACT_COORDINATORS_ROOM),
            "coordinator": {
                "user_id": settings.user_id(settings.coordinator_localpart),
                "password_file": str(settings.paths.coordinator_password),
            },
            "bots": {
                bot: {
                    "user_id": settings.user_id(getattr(settings, bot).localpart),
                    "metrics_url": self.parts[bot].ready_url,
                    "pid": self.parts[bot].process.pid,
                }
                for bot in ("matchmaker", "scheduler")
            },
            "synapse_workers": {
                name: {"url": spec.url, "pid": self.synapse.pids.get(name)}
                for name, spec in self.synapse.worker_specs.items()
            },
            "pids": {
                "supervisor": _own_pid(),
                **self.synapse.pids,
                **({"coturn": self.coturn.process.pid} if self.coturn else {}),
                **{name: part.process.pid for name, part in self.parts.items()},
            },
            "ports": {
                "synapse": settings.synapse.port,
                "portal": settings.portal.port,
                "matchmaker_metrics": settings.matchmaker.metrics_port,
                "scheduler_metrics": settings.scheduler.metrics_port,
            },
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }

    def write_stack_file(self) -> None:
        path = self.settings.paths.stack
        with self._file_lock:  # watchers write it as parts come back
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.describe(), indent=2))
            tmp.replace(path)

    def watches(self) -> list[Watch]:
        """Every part the supervisor keeps running, each watched on its own."""
        logs = self.settings.paths.logs
        watches = [
            Watch(
                "Synapse",
                self.synapse.alive,
                self.synapse.revive,
                logs / "synapse.out",
                self.synapse.process.exit_code,
            ),
        ]
        if self.coturn is not None:
            coturn = self.coturn
            watches.append(
                Watch(
                    "coturn",
                    coturn.alive,
                    coturn.start,
                    coturn.process.log_path,
                    coturn.process.exit_code,
                )
            )
        for name, part in self.parts.items():
            process = part.process
            watches.append(
                Watch(
                    name,
                    process.alive,
                    process.start,
                    process.log_path,
                    process.exit_code,
                )
            )
        return watches

    def supervise(self) -> str | None:
        """Keep every part running until asked to stop; answers why it gave up, if it did.

        Each part is watched by a thread of its own, so one part's wait before a
        restart never holds up another's. A part that stops ``crash_limit`` times
        within ``crash_window_seconds`` is given up on: everything is stopped, and
        the reason is answered, so that `connec up` exits with an error and systemd
        (``Restart=on-failure``) starts it all again.
        """
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self._stop.set())
        threads = [
            threading.Thread(target=self._watch, args=(watch,), name=f"watch {watch.name}")
            for watch in self.watches()
        ]
        for thread in threads:
            thread.start()
        self._stop.wait()
        self.stop()
        for thread in threads:
            thread.join(timeout=STOP_WITHIN)
        self.stop()  # anything a watcher started while the rest was stopping
        return self._gave_up

    def _watch(self, watch: Watch) -> None:
        limits = self.settings.supervisor
        loop = CrashLoop(
            limit=limits.crash_limit,
            window=limits.crash_window_seconds,
            backoff_max=limits.backoff_max_seconds,
        )
        while not self._stop.wait(WATCH_EVERY):
            if watch.alive():
                continue
            stops = loop.stopped()
            code = watch.exit_code()
            how = f" (exit code {code})" if code is not None else ""
            if loop.looping:
                self._give_up(
                    f"The {watch.name} stopped {stops} times within "
                    f"{_minutes(limits.crash_window_seconds)}{how}, so connec stops "
                    f"everything and exits with an error. See {watch.log}."
                )
                return
            delay = loop.backoff()
            _say(
                f"The {watch.name} stopped{how}; starting it again in {delay:.0f} s "
                f"(stop {stops} of {limits.crash_limit} allowed within "
                f"{_minutes(limits.crash_window_seconds)})."
            )
            if self._stop.wait(delay):
                return
            try:
                watch.restart()
            except StartError as problem:
                _say(f"The {watch.name} could not be started again: {problem}")
                continue  # counted as another stop at the next look
            if not self._stop.is_set():
                self.write_stack_file()

    def _give_up(self, reason: str) -> None:
        with self._file_lock:
            if self._gave_up is None:
                self._gave_up = reason
        _say(reason)
        self._stop.set()

    def stop(self) -> None:
        """SIGTERM to every part at once, SIGKILL to any still there after STOP_WITHIN."""
        processes = [p.process for p in self.parts.values()]
        processes += [*self.synapse.workers, self.synapse.process]
        if self.coturn is not None:
            processes.append(self.coturn.process)
        threads = [threading.Thread(target=p.stop, args=(STOP_WITHIN,)) for p in processes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.settings.paths.stack.unlink(missing_ok=True)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} minutes" if seconds >= 60 else f"{seconds:g} seconds"


def _own_pid() -> int:
    import os

    return os.getpid()


def as_running(settings: Settings) -> Settings:
    """The settings with the ports a running stack really uses, from its stack.json."""
    path = settings.paths.stack
    if not path.exists():
        return settings
    ports = json.loads(path.read_text()).get("ports", {})
    synapse = settings.synapse.model_copy(
        update={"port": ports.get("synapse", settings.synapse.port)}
    )
    portal = settings.portal.model_copy(update={"port": ports.get("portal", settings.portal.port)})
    return settings.model_copy(update={"synapse": synapse, "portal": portal})


@dataclass(frozen=True)
class PartStatus:
    name: str
    url: str
    pid: int | None
    running: bool
    answering: bool


def stack_status(data_dir: Path) -> list[PartStatus] | None:
    """What `connec status` shows; None when no stack.json says a stack runs."""
    path = data_dir / "stack.json"
    if not path.exists():
        return None
    stack = json.loads(path.read_text())
    pids = stack["pids"]
    checks = [
        ("synapse", f"{stack['homeserver_url']}/health", None),
        ("matchmaker", stack["bots"]["matchmaker"]["metrics_url"], bot_ready_text("matchmaker")),
        ("scheduler", stack["bots"]["scheduler"]["metrics_url"], bot_ready_text("scheduler")),
        ("portal", f"{stack['portal_url']}/health", None),
    ]
    return [
        PartStatus(
            name,
            url,
            pids.get(name),
            pid_alive(pids[name]) if name in pids else False,
            part_answers(url, text),
        )
        for name, url, text in checks
    ]
