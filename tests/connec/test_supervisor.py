"""`connec up` under systemd: parts watched one by one, a crash loop given up on with an
error so that systemd starts it all again, and one stack per data folder.

The unit is the one docs/production.md shows: it is checked with systemd-analyze and
its ExecStart is run as systemd would run it.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connec.processes import http_ok, pid_alive
from connec.stack import CrashLoop, bot_ready_text, part_answers
from connec.synapse_config import REPO_ROOT

IN_CI = os.environ.get("CI") == "true"


# The crash loop, on its own -----------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_five_stops_within_ten_minutes_are_a_crash_loop() -> None:
    clock = Clock()
    loop = CrashLoop(limit=5, window=600, backoff_max=30, clock=clock)
    waits = []
    for _ in range(4):
        loop.stopped()
        assert not loop.looping
        waits.append(loop.backoff())
        clock.now += 60
    assert waits == [1, 2, 4, 8]
    assert loop.stopped() == 5 and loop.looping


def test_stops_longer_ago_than_the_window_are_forgotten() -> None:
    clock = Clock()
    loop = CrashLoop(limit=5, window=600, backoff_max=30, clock=clock)
    for _ in range(100):  # once every three minutes, for five hours: never a loop
        assert loop.stopped() <= 4 and not loop.looping
        clock.now += 180
    assert loop.backoff() <= 8


def test_the_wait_before_a_restart_has_a_ceiling() -> None:
    clock = Clock()
    loop = CrashLoop(limit=50, window=600, backoff_max=30, clock=clock)
    for _ in range(10):
        loop.stopped()
    assert loop.backoff() == 30


# The unit in docs/production.md ---------------------------------------------------------------


def documented_unit() -> str:
    docs = (REPO_ROOT / "docs" / "production.md").read_text()
    found = re.search(r"```ini\n# /etc/systemd/system/connec.service\n(.*?)```", docs, re.S)
    assert found, "docs/production.md no longer shows connec.service"
    return found.group(1)


def unit_here(data: Path) -> str:
    """The documented unit with this machine's paths (this checkout, a test data folder)."""
    return (
        documented_unit()
        .replace("/opt/connec", str(REPO_ROOT))
        .replace("/var/lib/connec", str(data))
        .replace("User=connec", f"User={getpass.getuser()}")
    )


def unit_values(unit: str) -> dict[str, str]:
    return dict(
        line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#")
    )


def test_the_documented_unit_passes_systemds_own_check(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        if IN_CI:
            pytest.fail("systemd-analyze is needed in CI")
        pytest.skip("systemd-analyze is not installed")
    unit = tmp_path / "connec.service"
    unit.write_text(unit_here(tmp_path / "var"))
    checked = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0 and not checked.stderr.strip(), checked.stderr
    values = unit_values(unit.read_text())
    # Restarted after a crash loop (exit 1), never after a stop that was asked for (exit 0).
    assert values["Restart"] == "on-failure" and values["StartLimitIntervalSec"] == "0"
    assert values["KillMode"] == "mixed" and values["KillSignal"] == "SIGTERM"
    assert float(values["TimeoutStopSec"]) > 10  # connec up stops within 10 s
    assert values["UMask"] == "0077"


# A real stack, run as the unit says ------------------------------------------------------------


def connec(*args: str, data: Path, **popen: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "connec.cli", *args, "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENV,
        **popen,
    )


ENV = {
    **os.environ,
    "CONNEC_MATCHMAKER__METRICS_PORT": "0",
    "CONNEC_SCHEDULER__METRICS_PORT": "0",
    "CONNEC_SYNAPSE__METRICS_PORT": "0",
    "CONNEC_SYNAPSE__PORT": "0",
    "CONNEC_PORTAL__PORT": "0",
}


class Output:
    """A process's output, read as it comes without blocking."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.text = ""
        assert process.stdout is not None
        self.fd = process.stdout.fileno()
        os.set_blocking(self.fd, False)

    def read(self) -> str:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            self.text += chunk.decode(errors="replace")
        return self.text


def until(check: Callable[[], Any], *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def stack_of(data: Path) -> dict[str, Any] | None:
    try:
        return json.loads((data / "stack.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def restarted(data: Path, part: str, old: int) -> Callable[[], int | None]:
    def check() -> int | None:
        stack = stack_of(data)
        pid = stack["pids"][part] if stack else old
        return pid if pid != old and pid_alive(pid) else None

    return check


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str], Output]]:
    """`connec init`, then the unit's ExecStart, run in its folder with its umask."""
    data = tmp_path / "var"
    init = connec("init", data=data)
    assert init.wait(180) == 0, init.stdout.read() if init.stdout else ""
    values = unit_values(unit_here(data))
    process = subprocess.Popen(
        shlex.split(values["ExecStart"]),
        cwd=values["WorkingDirectory"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENV,
        preexec_fn=lambda: os.umask(int(values["UMask"], 8)),
    )
    output = Output(process)
    try:
        until(lambda: "connec is ready" in output.read(), timeout=180, what="connec is ready")
        yield data, process, output
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(20)


@pytest.mark.synapse
def test_one_stack_per_folder_parts_come_back_on_their_own_and_a_crash_loop_ends_in_an_error(
    service: tuple[Path, subprocess.Popen[str], Output],
) -> None:
    data, up, output = service
    first = stack_of(data)
    assert first is not None

    # A second `connec up` on the same folder: a plain refusal naming the first's PID.
    second = connec("up", data=data)
    try:
        said = second.communicate(timeout=60)[0]
    except subprocess.TimeoutExpired:
        second.send_signal(signal.SIGTERM)  # it started beside the first: stop it again
        second.wait(20)
        raise
    assert second.returncode != 0
    assert f"PID {up.pid}" in said and "already running" in said and "Traceback" not in said
    assert stack_of(data) == first  # the first one's stack.json is untouched

    # The portal is killed: it is back on its own.
    portal = first["pids"]["portal"]
    os.kill(portal, signal.SIGKILL)
    until(restarted(data, "portal", portal), timeout=30, what="the portal back")
    until(lambda: http_ok(f"{first['portal_url']}/health"), timeout=30, what="portal answering")

    # The scheduler crashes again and again; while it waits 8 s before its fifth
    # start, the portal is killed and comes back: one part's wait holds up no other.
    scheduler = first["pids"]["scheduler"]
    for _ in range(4):
        os.kill(scheduler, signal.SIGKILL)
        if _ < 3:
            scheduler = until(
                restarted(data, "scheduler", scheduler), timeout=30, what="the scheduler back"
            )
    until(lambda: "starting it again in 8 s" in output.read(), timeout=10, what="the 8 s wait")
    portal = stack_of(data)["pids"]["portal"]  # type: ignore[index]
    os.kill(portal, signal.SIGKILL)
    until(restarted(data, "portal", portal), timeout=6, what="the portal back at once")
    assert stack_of(data)["pids"]["scheduler"] == scheduler  # type: ignore[index]
    assert not pid_alive(scheduler)  # still waiting

    # Back once more, then a fifth stop within ten minutes: a crash loop.
    scheduler = until(
        restarted(data, "scheduler", scheduler), timeout=30, what="the scheduler back"
    )
    metrics = stack_of(data)["bots"]["scheduler"]["metrics_url"]  # type: ignore[index]
    until(
        lambda: part_answers(metrics, bot_ready_text("scheduler")),
        timeout=60,
        what="the scheduler ready",
    )
    pids = stack_of(data)["pids"]  # type: ignore[index]
    os.kill(scheduler, signal.SIGKILL)
    code = up.wait(60)
    text = output.read()
    assert code == 1, text  # systemd's Restart=on-failure starts it all again
    assert "The scheduler stopped 5 times within 10 minutes" in text
    assert "Traceback" not in text
    for name, pid in pids.items():
        assert not pid_alive(pid), f"{name} (PID {pid}) still runs after giving up"
    assert stack_of(data) is None

    # And the folder is free again: a new `connec up` starts.
    again = connec("up", data=data)
    again_output = Output(again)
    try:
        until(lambda: "connec is ready" in again_output.read(), timeout=180, what="ready again")
    finally:
        again.send_signal(signal.SIGTERM)
        assert again.wait(15) == 0
