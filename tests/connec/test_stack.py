"""An operator runs `connec up`: everything answers, stack.json tells where, Ctrl-C stops all."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from connec.doctor import Severity, examine
from connec.processes import http_ok, pid_alive

pytestmark = pytest.mark.synapse


def connec(*args: str, data_dir: Path, **popen: object) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "CONNEC_MATCHMAKER__METRICS_PORT": "0",
        "CONNEC_SCHEDULER__METRICS_PORT": "0",
        "CONNEC_SYNAPSE__METRICS_PORT": "0",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "connec.cli", *args, "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        **popen,
    )


def wait_for_line(process: subprocess.Popen[str], line: str, timeout: float = 120) -> str:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    while time.monotonic() < deadline:
        chunk = process.stdout.readline()
        if chunk:
            seen.append(chunk)
            if chunk.strip() == line:
                return "".join(seen)
        elif process.poll() is not None:
            break
        else:
            time.sleep(0.1)
    raise AssertionError(f"no line {line!r}; output was:\n{''.join(seen)}")


def stop(process: subprocess.Popen[str], sig: int = signal.SIGINT) -> None:
    """Ctrl-C (or systemd's SIGTERM), as an operator would. That everything ends, and
    ends well (a stop that was asked for is no failure to systemd), is tested here; how
    fast it ends is a speed figure, and those belong in benchmarks (the bound is a hang
    guard)."""
    process.send_signal(sig)
    assert process.wait(120) == 0


def private_files(data: Path) -> dict[str, int]:
    """The mode of every file in the data folder but the public ones, by relative path."""
    public = ("well-known", "element", "synapse/log.yaml", "connec.toml", "stack.json")
    modes = {}
    for path in data.rglob("*"):
        relative = str(path.relative_to(data))
        if path.is_file() and not relative.startswith(public):
            modes[relative] = stat.S_IMODE(path.stat().st_mode)
    return modes


def test_up_reaches_ready_writes_stack_json_and_stops_cleanly(tmp_path: Path) -> None:
    data = tmp_path / "var"
    init = connec("init", data_dir=data)
    assert init.wait(120) == 0, init.stdout.read() if init.stdout else ""

    up = connec("up", "--synapse-port", "0", "--portal-port", "0", data_dir=data)
    try:
        output = wait_for_line(up, "connec is ready")
        assert "@matchmaker:localhost" in output and "coordinator-password.txt" in output
        stack = json.loads((data / "stack.json").read_text())
        assert set(stack["pids"]) == {"supervisor", "synapse", "matchmaker", "scheduler", "portal"}
        assert stack["bots"]["scheduler"]["user_id"] == "@scheduler:localhost"
        assert stack["coordinators_room_id"].startswith("!")
        for metrics in (
            stack["synapse_metrics_url"],
            stack["bots"]["matchmaker"]["metrics_url"],
            f"{stack['portal_url']}/metrics",
        ):
            assert http_ok(metrics), f"no metrics at {metrics}"
        status = subprocess.run(
            [sys.executable, "-m", "connec.cli", "status", "--data-dir", str(data)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert status.returncode == 0, status.stdout
        assert all(f.severity is not Severity.PROBLEM for f in examine(data))
        # Everything with personal data, the stores, databases and logs included, is
        # for connec's user alone (files 0600, folders 0700).
        modes = private_files(data)
        for needed in (
            "connec.db",
            "connec.db-wal",
            "synapse/homeserver.db",
            "logs/portal.log",
            "logs/synapse.log",
            "secrets.toml",
        ):
            assert needed in modes, needed
        assert any(name.startswith("bots/matchmaker/store/") for name in modes)
        loose = {name: oct(mode) for name, mode in modes.items() if mode & 0o077}
        assert not loose, loose
        for folder in ("bots", "bots/matchmaker/store", "logs", "synapse", "synapse/media_store"):
            assert stat.S_IMODE((data / folder).stat().st_mode) == 0o700, folder
        assert stat.S_IMODE((data / "well-known" / "matrix" / "client").stat().st_mode) == 0o644
        # And what each part writes later (media, rotated logs) is private from the start.
        for name, pid in stack["pids"].items():
            status_lines = Path(f"/proc/{pid}/status").read_text().splitlines()
            assert "Umask:\t0077" in status_lines, name
    finally:
        stop(up, signal.SIGTERM)  # as systemd stops it
    assert not (data / "stack.json").exists()
    for name, pid in stack["pids"].items():
        assert not pid_alive(pid), f"{name} (PID {pid}) is still running"

    # A second start has the same identities and data.
    credentials = (data / "bots" / "matchmaker" / "credentials.json").read_text()
    again = connec("up", "--synapse-port", "0", "--portal-port", "0", data_dir=data)
    try:
        wait_for_line(again, "connec is ready")
        second = json.loads((data / "stack.json").read_text())
        assert second["coordinators_room_id"] == stack["coordinators_room_id"]
        assert (data / "bots" / "matchmaker" / "credentials.json").read_text() == credentials
    finally:
        stop(again)


def test_doctor_explains_an_uninitialised_folder(tmp_path: Path) -> None:
    [finding] = examine(tmp_path / "nothing")
    assert finding.severity is Severity.PROBLEM
    assert "connec init" in finding.advice


def test_doctor_and_up_explain_a_taken_port(tmp_path: Path) -> None:
    data = tmp_path / "var"
    assert connec("init", data_dir=data).wait(120) == 0
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        (data / "connec.toml").write_text(
            (data / "connec.toml").read_text().replace("port = 8008", f"port = {port}")
        )
        problems = [f for f in examine(data) if f.severity is Severity.PROBLEM]
        assert any(f"Port {port} is taken" in f.what for f in problems), problems
        up = connec("up", "--portal-port", "0", data_dir=data)
        output = up.communicate(timeout=60)[0]
        assert up.returncode == 1
        assert f"Port {port} on 127.0.0.1 is already taken" in output
        assert "connec doctor" in output


def test_commands_reach_the_ports_a_running_stack_chose(tmp_path: Path) -> None:
    from connec.settings import load_settings
    from connec.stack import as_running

    settings = load_settings(tmp_path)
    assert as_running(settings) is settings  # nothing runs: the configured ports
    (tmp_path / "stack.json").write_text(json.dumps({"ports": {"synapse": 41234, "portal": 41235}}))
    running = as_running(settings)
    assert (running.synapse.port, running.portal.port) == (41234, 41235)
    assert running.synapse.url == "http://127.0.0.1:41234"
