"""Which files in a data folder hold personal data or secrets, kept readable by connec alone.

Files 0600, folders 0700. connec's own processes run with umask 077 (see
:func:`connec.cli.main`), so what they and Synapse create is private from the
start; :func:`make_private` brings a data folder made by an older connec (or by
hand) into line at every `connec init` and `connec up`, and :func:`readable_by_others`
is what `connec doctor` reports. What a web server must read (``well-known/``,
``element/config.json``) is public on purpose and not listed here.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import make_url

from connec.settings import Settings

FILE_MODE = 0o600
FOLDER_MODE = 0o700
ROOT_MODE = 0o711
"""The data folder itself: others may pass through to ``well-known/`` and ``element/``
(which a web server serves), never list it."""

BOTS = ("matchmaker", "scheduler")
_SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


@dataclass(frozen=True)
class PrivatePath:
    """A file or folder that must stay private, and what it holds, in words."""

    path: Path
    holds: str
    folder: bool = False

    @property
    def mode(self) -> int:
        return FOLDER_MODE if self.folder else FILE_MODE


def private_paths(settings: Settings) -> Iterator[PrivatePath]:
    """Every private file and folder of the data folder that exists now."""
    paths = settings.paths
    candidates: list[PrivatePath] = [
        PrivatePath(paths.secrets, "this deployment's secrets"),
        PrivatePath(paths.homeserver_yaml, "Synapse's secrets"),
        PrivatePath(paths.signing_key, "Synapse's signing key"),
        PrivatePath(paths.synapse / "tls" / "federation.key", "the federation listener's TLS key"),
        PrivatePath(paths.coordinator_password, "the first coordinator's password"),
        PrivatePath(paths.first_passwords, "people's first passwords"),
        PrivatePath(paths.root / "coturn" / "turnserver.conf", "the TURN secret"),
        PrivatePath(paths.root / "coturn", "coturn's files", folder=True),
        PrivatePath(paths.synapse, "Synapse's database, keys and media", folder=True),
        PrivatePath(paths.media, "pictures people sent", folder=True),
        PrivatePath(paths.logs, "logs with people's Matrix IDs", folder=True),
        PrivatePath(paths.bots, "the bots' sign-ins and encryption keys", folder=True),
    ]
    database = make_url(settings.db_url)
    if database.get_backend_name() == "sqlite" and database.database:
        for suffix in _SQLITE_COMPANIONS:
            candidates.append(
                PrivatePath(Path(database.database + suffix), "connec's database (people)")
            )
    for suffix in _SQLITE_COMPANIONS:
        candidates.append(
            PrivatePath(paths.synapse / f"homeserver.db{suffix}", "Synapse's database (messages)")
        )
    for bot in BOTS:
        folder = paths.bot(bot)
        candidates += [
            PrivatePath(folder, f"the {bot}'s sign-in and encryption keys", folder=True),
            PrivatePath(folder / "credentials.json", f"the {bot}'s sign-in"),
            PrivatePath(folder / "cross-signing.json", f"the {bot}'s cross-signing keys"),
            PrivatePath(folder / "store", f"the {bot}'s encryption store", folder=True),
        ]
        store = folder / "store"
        if store.is_dir():
            candidates += [
                PrivatePath(path, f"the {bot}'s encryption keys for every room it is in")
                for path in sorted(store.iterdir())
                if path.is_file()
            ]
    if paths.logs.is_dir():
        candidates += [
            PrivatePath(path, "a log with people's Matrix IDs")
            for path in sorted(paths.logs.iterdir())
            if path.is_file()
        ]
    for candidate in candidates:
        if candidate.path.exists():
            yield candidate


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def readable_by_others(settings: Settings) -> list[tuple[PrivatePath, int]]:
    """Private files and folders that others on this machine may read, with their mode."""
    found = []
    for private in private_paths(settings):
        try:
            mode = _mode(private.path)
        except FileNotFoundError:
            continue  # gone meanwhile (a log rotated)
        if mode & 0o077:
            found.append((private, mode))
    return found


def make_private(settings: Settings) -> list[Path]:
    """Make every private file 0600 and folder 0700; answers what had to change."""
    changed = []
    root = settings.paths.root
    if root.is_dir() and _mode(root) & 0o066:
        root.chmod(ROOT_MODE)
        changed.append(root)
    for private, _mode_before in readable_by_others(settings):
        private.path.chmod(private.mode)
        changed.append(private.path)
    return changed
