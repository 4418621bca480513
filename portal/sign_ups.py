"""Storing volunteer sign-ups: together in one transaction when many arrive at once.

The sign-up form is the portal's one public form that writes, and a newspaper
article or a TV spot can send many people to it at the same moment. Each
transaction has a fixed cost, and SQLite lets one writer in at a time, so sign-ups
that arrive together are queued and written by one task in a single transaction
("group commit"); each sender waits for its own sign-up to be committed. Should a
batch fail (two identical user names from outside the portal, say), each sign-up
in it is written again on its own, so one bad sign-up never loses another.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connec.accounts import NoFreeUserName, localpart_candidates
from connec.db import Database
from connec.models import Person
from portal.forms import VolunteerSignUp
from portal.records import PORTAL_ACTOR, record

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
    """Sign-ups queued by the views and written in batches by one task."""

    def __init__(self, database: Database, server_name: str) -> None:
        self.database = database
        self.server_name = server_name
        self._queue: asyncio.Queue[PendingSignUp] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sign-up-writer")

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

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
            async with self.database.session() as session:
                await store_sign_ups(session, batch, self.server_name)
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


def _fail(pending: PendingSignUp, error: Exception) -> None:
    log.error("a sign-up could not be stored", extra={"error": str(error)})
    if not pending.done.done():
        pending.done.set_exception(error)


async def store_sign_ups(
    session: AsyncSession, batch: list[PendingSignUp], server_name: str
) -> None:
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
    wanted = own_ids | {c for names in candidates.values() for c in names}
    rows = await session.execute(
        select(Person.matrix_id, Person.id).where(Person.matrix_id.in_(wanted))
    )
    known: dict[str, int] = {matrix_id: person_id for matrix_id, person_id in rows.all()}
    taken = set(known)

    people: list[tuple[PendingSignUp, Person]] = []
    for pending in batch:
        signed_up = pending.sign_up
        if signed_up.matrix_id and signed_up.matrix_id in taken:
            record(
                session,
                actor=PORTAL_ACTOR,
                action="volunteer_sign_up_ignored",
                at=pending.at,
                subject=signed_up.matrix_id,
                person_id=known.get(signed_up.matrix_id),
                details={"why": "matrix_id_known"},
            )
            continue
        matrix_id = signed_up.matrix_id or next(
            (c for c in candidates[signed_up.display_name] if c not in taken), None
        )
        if matrix_id is None:
            raise NoFreeUserName(signed_up.display_name)
        taken.add(matrix_id)
        person = _person(pending, matrix_id)
        session.add(person)
        people.append((pending, person))
    await session.flush()  # one insert for the batch; gives each person their id
    for pending, person in people:
        record(
            session,
            actor=PORTAL_ACTOR,
            action="volunteer_signed_up",
            at=pending.at,
            subject=person.matrix_id,
            person_id=person.id,
            details={"federated": bool(pending.sign_up.matrix_id)},
        )


def _candidates(display_name: str, server_name: str) -> list[str]:
    """The Matrix IDs a person's name may get, in order of preference.

    Only a reservation in connec's database: Synapse is asked on approval, when the
    account is made (see :mod:`connec.accounts`).
    """
    return [
        f"@{localpart}:{server_name}"
        for localpart in localpart_candidates(display_name, FALLBACK_LOCALPART)
    ]


def _person(pending: PendingSignUp, matrix_id: str) -> Person:
    signed_up, now = pending.sign_up, pending.at
    return Person(
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
