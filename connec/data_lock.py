"""One `connec up` per data folder: an exclusive lock on ``<data-dir>/connec.lock``.

Two stacks on one folder would run two Synapses on one SQLite file and two of each
bot, and the second, stopping, would delete the first one's ``stack.json``. The
lock is taken before anything else; a second `connec up` is refused in plain words
naming the PID that holds it. The lock is the kernel's (``flock``): it goes with the
process that held it, however that process ended, so no stale lock file is ever
in the way. The parts `connec up` starts inherit it, so should the supervisor be
killed, the folder stays locked until the last part it started has stopped too.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from connec.processes import pid_alive

LOCK_FILE = "connec.lock"


class FolderInUse(RuntimeError):
    """Another `connec up` holds the data folder; the message says who, in words."""


class DataFolderLock:
    """The data folder's lock, held from :meth:`acquire` until :meth:`release` (or exit)."""

    def __init__(self, root: Path) -> None:
        self.path = root / LOCK_FILE
        self.fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`FolderInUse` (and ``OSError`` if the folder
        cannot be written)."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            holder = _read_pid(fd)
            os.close(fd)
            if error.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            raise FolderInUse(_in_use(self.path.parent, holder)) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.fsync(fd)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


def _in_use(root: Path, pid: int | None) -> str:
    if pid is not None and pid_alive(pid):
        return (
            f"connec is already running on the data folder {root} (PID {pid}). Only one "
            "`connec up` may use a data folder: stop that one first (Ctrl-C, or "
            f"`kill {pid}`), or start this one with another --data-dir."
        )
    who = f"PID {pid}" if pid is not None else "a `connec up`"
    return (
        f"The data folder {root} is still in use: {who} started connec there and has "
        "stopped, but parts it started still run and hold the folder. Stop them first "
        f"(their PIDs are in {root / 'stack.json'}, if it is there), then start again."
    )
