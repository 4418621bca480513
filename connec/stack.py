"""`connec up` and `connec status`: the whole stack on loopback, and how it is doing."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import threading
import time
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
RESTART_LIMIT = 5  # a part that keeps crashing is given up on, loudly


@dataclass
class Part:
    """One long-running part of the stack and how to tell it is ready."""

    process: ManagedProcess
    ready_url: str
    ready_text: str | None = None
    restarts: int = 0

    def is_ready(self) -> bool:
        return part_answers(self.ready_url, self.ready_text)


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
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.describe(), indent=2))
        tmp.replace(path)

    def supervise(self) -> None:
        """Keep the parts running until asked to stop; restart a crashed part with backoff."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self._stop.set())
        while not self._stop.wait(1.0):
            if not self.synapse.alive():
                # Without Synapse nothing works: start it (or the worker that went) again;
                # the bots reconnect.
                try:
                    self.synapse.revive()
                except StartError as exc:
                    print(f"Synapse could not be restarted: {exc}", file=sys.stderr)
                    break
                self.write_stack_file()
            if self.coturn is not None and not self.coturn.alive():
                try:
                    self.coturn.start()
                except StartError as exc:
                    # Chat goes on without TURN; trying every second would only flood the log.
                    print(f"coturn could not be restarted, giving up: {exc}", file=sys.stderr)
                    self.coturn = None
                self.write_stack_file()
            for name, part in self.parts.items():
                if part.process.alive():
                    continue
                part.restarts += 1
                if part.restarts > RESTART_LIMIT:
                    print(
                        f"The {name} keeps stopping; see {part.process.log_path}", file=sys.stderr
                    )
                    self._stop.set()
                    break
                time.sleep(min(2**part.restarts, 30))
                part.process.start()
                self.write_stack_file()
        self.stop()

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
