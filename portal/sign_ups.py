"""Storing volunteer sign-ups: together in one transaction when many arrive at once.

The sign-up form is the portal's one public form that writes, and a newspaper
article or a TV spot can send many people to it at the same moment. Each
transaction has a fixed cost, and SQLite lets one writer in at a time, so sign-ups
that arrive together are queued and written by one task in a single transaction
("group commit"); each sender waits for its own sign-up to be committed. Should a
batch fail (two identical user names from outside the portal, say), each sign-up
in it is written again on its own, so one bad sign-up never loses another.

A batch is written whole by one thread of its own with a blocking connection: an
async session would wait for the busy event loop at each of its dozen round
trips, and every sign-up in the batch with it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select

from connec.accounts import NoFreeUserName, localpart_candidates
from connec.db import make_sync_engine
from connec.models import AuditEntry, Person
from portal.forms import VolunteerSignUp
from portal.records import PORTAL_ACTOR, audit_line

log = logging.getLogger(__name__)

FALLBACK_LOCALPART = "frivillig"
MAX_BATCH = 100


@dataclass
class PendingSignUp:
    """One sign-up waiting to be stored, and how it went."""

    sign_up: VolunteerSignUp
    language: str
    timezone: str
    at: datetime
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class SignUpQueue:
    """Sign-ups queued by the views and written in batches by one thread."""

    def __init__(self, database_url: str, server_name: str) -> None:
        self.server_name = server_name
        self._engine = make_sync_engine(database_url)
        # One thread, so a SQLite connection is only ever used where it was made.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sign-ups")
        self._queue: asyncio.Queue[PendingSignUp] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sign-up-writer")

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._task is not None:
            await self._queue.join()
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await asyncio.get_running_loop().run_in_executor(self._thread, self._engine.dispose)
        self._thread.shutdown()

    async def store(
        self, sign_up: VolunteerSignUp, *, language: str, timezone: str, at: datetime
    ) -> None:
        """Queue a sign-up and wait until it is committed (or raise why not)."""
        pending = PendingSignUp(sign_up, language, timezone, at)
        await self._queue.put(pending)
        await asyncio.shield(pending.done)

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write(self, batch: list[PendingSignUp]) -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(self._thread, self._commit, batch)
        except Exception as error:
            if len(batch) == 1:
                _fail(batch[0], error)
                return
            log.warning("a batch of sign-ups failed; storing them one by one")
            for pending in batch:
                await self._write([pending])
            return
        for pending in batch:
            if not pending.done.done():
                pending.done.set_result(None)

    def _commit(self, batch: list[PendingSignUp]) -> None:
        """In the writer's thread: the batch in one transaction."""
        with self._engine.begin() as connection:
            store_sign_ups(connection, batch, self.server_name)


def _fail(pending: PendingSignUp, error: Exception) -> None:
    log.error("a sign-up could not be stored", extra={"error": str(error)})
    if not pending.done.done():
        pending.done.set_exception(error)


def store_sign_ups(connection: Connection, batch: list[PendingSignUp], server_name: str) -> None:
    """Add each sign-up as a pending volunteer, in a few statements for the whole batch.

    A sign-up with a Matrix ID connec already knows adds only an audit line: it is
    answered like any other, so the form never tells whom connec knows, and the
    audit line lets a coordinator follow up.
    """
    own_ids = {p.sign_up.matrix_id for p in batch if p.sign_up.matrix_id}
    candidates = {
        p.sign_up.display_name: _candidates(p.sign_up.display_name, server_name)
        for p in batch
        if not p.sign_up.matrix_id
    }
    # Most names are free at the first try: ask about those first, and about the
    # numbered ones ("anna.jensen2", ...) only for names already taken, or wanted
    # by two in this batch.
    known = _known_ids(connection, own_ids | {names[0] for names in candidates.values()})
    wanted = Counter(p.sign_up.display_name for p in batch if not p.sign_up.matrix_id)
    if clashes := [
        names for name, names in candidates.items() if names[0] in known or wanted[name] > 1
    ]:
        known |= _known_ids(connection, {c for names in clashes for c in names[1:]})
    taken = set(known)

    ignored: list[dict[str, Any]] = []
    people: list[tuple[PendingSignUp, dict[str, Any]]] = []
    for pending in batch:
        signed_up = pending.sign_up
        if signed_up.matrix_id and signed_up.matrix_id in taken:
            ignored.append(
                audit_line(
                    actor=PORTAL_ACTOR,
                    action="volunteer_sign_up_ignored",
                    at=pending.at,
                    subject=signed_up.matrix_id,
                    person_id=known.get(signed_up.matrix_id),
                    details={"why": "matrix_id_known"},
                )
            )
            continue
        matrix_id = signed_up.matrix_id or next(
            (c for c in candidates[signed_up.display_name] if c not in taken), None
        )
        if matrix_id is None:
            raise NoFreeUserName(signed_up.display_name)
        taken.add(matrix_id)
        people.append((pending, _person(pending, matrix_id)))
    if people:
        connection.execute(insert(Person), [person for _pending, person in people])
        signed_up_lines = [
            audit_line(
                actor=PORTAL_ACTOR,
                action="volunteer_signed_up",
                at=pending.at,
                subject=person["matrix_id"],
                details={"federated": bool(pending.sign_up.matrix_id)},
            )
            for pending, person in people
        ]
        connection.execute(
            _AUDIT_NEW_PERSON, [{**line, "new": line["subject"]} for line in signed_up_lines]
        )
    if ignored:
        connection.execute(insert(AuditEntry), ignored)


_AUDIT_NEW_PERSON = insert(AuditEntry).values(
    person_id=select(Person.id).where(Person.matrix_id == bindparam("new")).scalar_subquery()
)
"""An audit line about a person just inserted, found by their Matrix ID ("new")."""


def _known_ids(connection: Connection, matrix_ids: set[str]) -> dict[str, int]:
    """Which of these Matrix IDs connec already has, with the person each belongs to."""
    if not matrix_ids:
        return {}
    rows = connection.execute(
        select(Person.matrix_id, Person.id).where(Person.matrix_id.in_(matrix_ids))
    )
    return {matrix_id: person_id for matrix_id, person_id in rows.all()}


def _candidates(display_name: str, server_name: str) -> list[str]:
    """The Matrix IDs a person's name may get, in order of preference.

    Only a reservation in connec's database: Synapse is asked on approval, when the
    account is made (see :mod:`connec.accounts`).
    """
    return [
        f"@{localpart}:{server_name}"
        for localpart in localpart_candidates(display_name, FALLBACK_LOCALPART)
    ]


def _person(pending: PendingSignUp, matrix_id: str) -> dict[str, Any]:
    """The columns of a new pending volunteer."""
    signed_up, now = pending.sign_up, pending.at
    return dict(
        matrix_id=matrix_id,
        role="volunteer",
        approval="pending",
        display_name=signed_up.display_name,
        language=pending.language,
        timezone=pending.timezone,
        created_at=now,
        birth_year=signed_up.birth_year,
        gender=signed_up.gender,
        municipality=signed_up.municipality,
        postcode=signed_up.postcode,
        languages=signed_up.languages,
        interest_keys=signed_up.interest_keys,
        interest_words=signed_up.interest_words,
        contact_modes=signed_up.contact_modes,
        availability=signed_up.availability,
        capacity=signed_up.capacity,
        email=signed_up.email,
        phone=signed_up.phone,
        organisation=signed_up.organisation,
        motivation=signed_up.motivation,
        consent_at=now,
        profile_complete=True,
    )
