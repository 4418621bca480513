"""Starting, watching and stopping the processes of the stack, by PID only."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


class StartError(RuntimeError):
    """A part of the stack did not come up; the message says why in plain words."""


@dataclass
class ManagedProcess:
    """A child process whose output goes to a log file in the data folder."""

    name: str
    command: Sequence[str]
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)
    popen: subprocess.Popen[bytes] | None = None
    pass_fds: tuple[int, ...] = ()
    """Descriptors the child keeps open (the data folder's lock, see connec.data_lock)."""

    def start(self) -> None:
        self.log_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Logs hold Matrix IDs and room IDs: only connec's user may read them.
        fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(fd, 0o600)
        log = os.fdopen(fd, "ab")
        try:
            self.popen = subprocess.Popen(
                list(self.command),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env},
                # Own process group: Ctrl-C in a terminal reaches the supervisor,
                # which then stops each child in order.
                start_new_session=True,
                pass_fds=self.pass_fds,
            )
        finally:
            log.close()

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} was never started"
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def exit_code(self) -> int | None:
        """How the process ended (negative: killed by that signal); None while it runs."""
        return None if self.popen is None else self.popen.poll()

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def stop(self, timeout: float = 8.0) -> None:
        """SIGTERM, then SIGKILL if it has not gone within ``timeout`` seconds."""
        if not self.alive():
            return
        assert self.popen is not None
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """True when ``url`` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    process: ManagedProcess | None = None,
    what: str,
) -> None:
    """Poll ``check`` until true; fail early and clearly if ``process`` dies."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while time.monotonic() < deadline:
        if check():
            return
        if process is not None and not process.alive():
            raise StartError(
                f"{what} stopped while starting. Last lines of {process.log_path}:\n"
                f"{process.log_tail()}"
            )
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)
    tail = f" Last lines of {process.log_path}:\n{process.log_tail()}" if process else ""
    raise StartError(f"{what} did not answer within {timeout:.0f} s.{tail}")


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists (for `connec status`)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
