"""Matrix accounts connec makes (the portal, `connec staff add`, `connec people import`):
readable user names, first passwords, and making an account so that nothing half-made
remains when a later step fails.

The pure part (user names, passwords) has no network; :func:`create_account` and
:func:`reset_password` are the only calls to Synapse's admin API here.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import unicodedata
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import quote

from connec.first_passwords import FirstPasswords
from connec.synapse_admin import SynapseAdmin, SynapseError, SynapseUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

# Letters and digits nobody mixes up when reading them off paper (no 0/o, 1/l/i).
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
PASSWORD_GROUPS, PASSWORD_GROUP_LENGTH = 4, 4  # 16 characters: about 79 bits
LOCALPART_MAX = 40
MAX_CANDIDATES = 50

_TRANSLITERATE = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "ß": "ss", "ð": "d", "þ": "th"})
_NOT_ALLOWED = re.compile(r"[^a-z0-9]+")


def first_password() -> str:
    """A first password that is easy to read aloud and to type: four groups, e.g. ``hk4m-7xqa-...``."""
    groups = (
        "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_GROUP_LENGTH))
        for _ in range(PASSWORD_GROUPS)
    )
    return "-".join(groups)


def localpart_base(display_name: str, fallback: str) -> str:
    """A user name from a person's name: first and last name, e.g. "Søren Ågård Ørsted" → "soeren.oersted".

    Only a-z and 0-9 survive, so the name can be typed on any keyboard; a name with
    none of those (another script) gives ``fallback``.
    """
    text = unicodedata.normalize("NFKD", display_name.casefold().translate(_TRANSLITERATE))
    ascii_text = text.encode("ascii", "ignore").decode()
    words = [w for w in _NOT_ALLOWED.split(ascii_text) if w]
    if not words:
        return fallback
    chosen = [words[0], words[-1]] if len(words) > 1 else words
    return ".".join(chosen)[:LOCALPART_MAX].strip(".") or fallback


def localpart_candidates(display_name: str, fallback: str) -> Iterator[str]:
    """User names to try in turn: "karen.hansen", "karen.hansen2", "karen.hansen3", ..."""
    base = localpart_base(display_name, fallback)
    yield base
    for number in range(2, MAX_CANDIDATES + 1):
        yield f"{base}{number}"


class NoFreeUserName(RuntimeError):
    """Every candidate user name is taken."""


async def create_account(
    admin: SynapseAdmin,
    *,
    server_name: str,
    display_name: str,
    fallback: str,
    taken_here: Callable[[str], Awaitable[bool]],
    then: Callable[[str, str], Awaitable[T]],
) -> tuple[str, str, T]:
    """Make a Matrix account for a person, then run ``then(user_id, password)``.

    The account is made last but one: a user name free both in connec's database
    (``taken_here``) and on Synapse (deactivated accounts count as taken, so an
    erased person's name is never given to someone else) is chosen, the account is
    made with one admin call that opens no session, and then ``then`` stores what
    belongs to it. Should ``then`` fail, the account is deactivated again, so no
    account without its person remains. :class:`SynapseUnavailable` and
    :class:`SynapseError` from Synapse pass through with nothing made.

    Answers the user ID, the first password, and what ``then`` gave.
    """
    for localpart in localpart_candidates(display_name, fallback):
        user_id = f"@{localpart}:{server_name}"
        if await taken_here(user_id) or await admin.get_user(user_id) is not None:
            continue
        password = first_password()
        await admin.update_user(user_id, password=password, displayname=display_name)
        try:
            result = await then(user_id, password)
        except BaseException:
            await _undo_account(admin, user_id)
            raise
        return user_id, password, result
    raise NoFreeUserName(f"no free user name for {display_name!r}")


async def reset_password(admin: SynapseAdmin, user_id: str) -> str:
    """Give an account a new first password and sign out every session it has.

    A new password is asked for when the old one (a welcome letter) is lost; a
    session opened with the lost one must not outlive it.
    """
    password = first_password()
    await admin.update_user(user_id, password=password, logout_devices=True)
    return password


async def _undo_account(admin: SynapseAdmin, user_id: str) -> None:
    try:
        await asyncio.shield(admin.deactivate(user_id, erase=True))
    except (SynapseError, SynapseUnavailable) as error:
        # Nothing more can be done from here; the operator's log says which account.
        log.error(
            "could not deactivate a half-made account",
            extra={"user_id": user_id, "error": str(error)},
        )


@dataclass
class AccountsMade:
    """What `people import --create-accounts` did, and what is still to hand on."""

    made: list[str] = field(default_factory=list)
    """Accounts made in this run (their passwords are on file)."""
    waiting: list[str] = field(default_factory=list)
    """Accounts nobody has signed in to yet whose first password is on file."""
    lost: list[str] = field(default_factory=list)
    """Accounts nobody has signed in to yet whose first password is no longer on file."""


async def create_missing_accounts(
    admin: SynapseAdmin,
    people: list[tuple[str, str]],
    *,
    server_name: str,
    passwords: FirstPasswords,
) -> AccountsMade:
    """Accounts for imported people on this homeserver who have none yet.

    ``people`` are (user ID, display name). Each first password is written to
    ``passwords`` (and to disk) before its account is made, and a password already on
    file is used again, so a run cut short by a crash is finished by running it
    again, with the passwords it wrote. People on other (federated) servers and
    existing accounts are left alone. Answers what was made, and which accounts of
    these people nobody has signed in to yet (their password not delivered).
    """
    outcome = AccountsMade()
    on_file = passwords.read()
    for user_id, display_name in people:
        if not user_id.endswith(f":{server_name}"):
            continue
        existing = await admin.get_user(user_id)
        if existing is None:
            password = on_file.get(user_id)
            if password is None:
                password = first_password()
                passwords.append(user_id, password)
                on_file[user_id] = password
            await admin.update_user(user_id, password=password, displayname=display_name)
            outcome.made.append(user_id)
        elif await _signed_in_ever(admin, existing, user_id):
            continue
        (outcome.waiting if user_id in on_file else outcome.lost).append(user_id)
    return outcome


async def _signed_in_ever(admin: SynapseAdmin, user: dict[str, object], user_id: str) -> bool:
    """Whether anyone has used the account (so its first password was delivered)."""
    if user.get("last_seen_ts"):
        return True
    devices = await admin.admin("GET", f"/v2/users/{quote(user_id)}/devices")
    return bool(devices.get("total"))
