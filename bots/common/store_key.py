"""The key each bot's encryption store is locked with, and moving an old store onto it.

nio pickles a bot's Olm account and its Olm and Megolm sessions with a passphrase,
by default ``"DEFAULT_KEY"``: the same for everyone, so whoever could read the
store file could decrypt every room the bot is in. Each bot's store is locked with
a random key of its own from ``secrets.toml`` instead. A store a bot made before
(with nio's default key) is opened with that once and locked again with the bot's
own key, keeping the bot's device, its identity and every session it holds, so
people's earlier messages stay readable to it. The move is made on a copy that
replaces the store only once it is whole, so a crash leaves the old store as it was.

Never imports a bot; used by the runtime's login only.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import vodozemac
from nio.store import DefaultStore

NIO_DEFAULT_KEY = "DEFAULT_KEY"
"""nio's own pickle key (``AsyncClientConfig.pickle_key``), which connec used before."""

_WRONG_KEY = (vodozemac.PickleException, vodozemac.LibolmPickleException, ValueError)


class StoreLocked(RuntimeError):
    """The store opens with neither the bot's key nor nio's default; says what to do."""


def store_file(store_dir: Path, user_id: str, device_id: str) -> Path:
    """Where nio keeps the store of one device (its own naming)."""
    return store_dir / f"{user_id}_{device_id}.db"


def _opens_with(path: Path, user_id: str, device_id: str, key: str) -> bool:
    store = DefaultStore(user_id, device_id, str(path.parent), key, path.name)
    try:
        store.load_account()
        store.load_sessions()
        store.load_inbound_group_sessions()
    except _WRONG_KEY:
        return False
    finally:
        store.database.close()
    return True


def lock_with_own_key(store_dir: Path, user_id: str, device_id: str, key: str, bot: str) -> str:
    """Make sure the device's store opens with ``key``; answers what was done.

    ``"new"``: no store yet (nio makes it with ``key``); ``"kept"``: it already opens
    with ``key``; ``"moved"``: it was locked with nio's default key and is now
    locked with ``key``. Raises :class:`StoreLocked` when it opens with neither.
    """
    if not key:
        raise StoreLocked(
            f"secrets.toml has no {bot}_store_key, the key the {bot}'s encryption store is "
            "locked with. Run `connec init` (or `connec up`), which adds it and keeps "
            "every other secret."
        )
    path = store_file(store_dir, user_id, device_id)
    if not path.exists():
        return "new"
    if _opens_with(path, user_id, device_id, key):
        return "kept"
    if not _opens_with(path, user_id, device_id, NIO_DEFAULT_KEY):
        raise StoreLocked(
            f"The {bot}'s encryption store ({path}) does not open with {bot}_store_key "
            "from secrets.toml. Was secrets.toml replaced? Put back the secrets.toml that "
            "belongs to this data folder (from your backup). Only if it is lost for good: "
            f"move {store_dir} and {path.parent.parent / 'credentials.json'} aside, and the "
            f"{bot} starts with a new device; it can then no longer read messages sent to "
            "it before."
        )
    _move_to_key(path, user_id, device_id, key)
    return "moved"


def _move_to_key(path: Path, user_id: str, device_id: str, key: str) -> None:
    copy = path.with_name(path.name + ".rekeying")
    shutil.copyfile(path, copy)
    os.chmod(copy, 0o600)
    store = DefaultStore(user_id, device_id, str(copy.parent), NIO_DEFAULT_KEY, copy.name)
    try:
        account = store.load_account()
        sessions = store.load_sessions()
        group_sessions = store.load_inbound_group_sessions()
        store.pickle_key = key
        with store.database.atomic():
            if account is not None:
                store.save_account(account)
            for sender_key, own in sessions.items():
                for session in own:
                    store.save_session(sender_key, session)
            for group_session in group_sessions:
                store.save_inbound_group_session(group_session)
    finally:
        store.database.close()
    with copy.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(copy, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
