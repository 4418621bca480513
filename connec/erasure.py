"""Erasing a person: everything connec and Synapse hold that names or describes them.

DESIGN, flow 9: erasure reaches every table, the bots' own messages about the
person, their media and Synapse, and is logged without the erased data. It goes in
this order, so that a failure part-way changes nothing a second try cannot finish:

1. :func:`erase_in_synapse`, while connec's rows still say where to look:
   - the media they uploaded (an avatar, pictures) is deleted;
   - every message the bots wrote about them is redacted, by the bot that wrote it,
     with its own account: the bots' outbox records whom each message names or
     describes (a suggestion to the coordinators, an alert, an ice-breaker, a
     reminder);
   - their direct rooms with the bots are purged whole;
   - their account is deactivated with erase.
2. :func:`erase_rows`, in one transaction: every row that names or describes them,
   including what others wrote about them (a concern, a coordinator's waiting
   command), and the audit lines keep only a random reference.

Each Synapse step can be done twice: a redacted event redacts again, a purged room
is gone, deactivating twice is allowed.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from sqlalchemy import ColumnElement, String, cast, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from connec.db import Database
from connec.models import (
    AuditEntry,
    Booking,
    CheckIn,
    Circle,
    CircleMember,
    CircleWish,
    Concern,
    Dialogue,
    DirectRoom,
    HandledEvent,
    Match,
    OutboxMessage,
    PendingAction,
    Person,
    Proposal,
    Reminder,
    SeenDevice,
    WellbeingAnswer,
)
from connec.provision import BotCredentials, credentials_path
from connec.settings import Settings
from connec.synapse_admin import SynapseAdmin, SynapseError

log = logging.getLogger(__name__)

BOTS = ("matchmaker", "scheduler")
PURGE_WAIT_S = 60.0


def _mentions(column: Any, matrix_id: str) -> ColumnElement[bool]:
    """A JSON column (a list or a dict of strings) holding this Matrix ID."""
    return cast(column, String).contains(f'"{matrix_id}"')


async def _match_ids(session: AsyncSession, person_id: int) -> list[int]:
    return list(
        await session.scalars(
            select(Match.id).where(or_(Match.a_id == person_id, Match.b_id == person_id))
        )
    )


async def messages_about(db: Database, matrix_id: str) -> list[tuple[str, str, str]]:
    """(bot, room ID, event ID) of every message the bots sent that names the person."""
    async with db.session() as session:
        rows = (
            await session.execute(
                select(OutboxMessage.bot, OutboxMessage.room_id, OutboxMessage.event_id).where(
                    OutboxMessage.event_id.is_not(None),
                    _mentions(OutboxMessage.subjects, matrix_id),
                )
            )
        ).all()
    return [(bot, room, event) for bot, room, event in rows if event]


async def direct_rooms_of(db: Database, matrix_id: str) -> list[str]:
    async with db.session() as session:
        return list(
            await session.scalars(
                select(DirectRoom.room_id).where(
                    DirectRoom.matrix_id == matrix_id, DirectRoom.room_id.is_not(None)
                )
            )
        )


async def erase_in_synapse(
    settings: Settings, admin: SynapseAdmin, db: Database, matrix_id: str
) -> None:
    """Steps in Synapse, before connec's rows go (they say where to look)."""
    await admin.admin("DELETE", f"/v1/users/{quote(matrix_id)}/media")
    direct = set(await direct_rooms_of(db, matrix_id))
    tokens = _bot_tokens(settings)
    for bot, room_id, event_id in await messages_about(db, matrix_id):
        if room_id in direct or bot not in tokens:
            continue  # the room is purged whole below
        await _redact(admin, tokens[bot], room_id, event_id)
    for room_id in sorted(direct):
        await purge_room(admin, room_id)
    await admin.deactivate(matrix_id, erase=True)


def _bot_tokens(settings: Settings) -> dict[str, str]:
    tokens = {}
    for bot in BOTS:
        creds = BotCredentials.load(credentials_path(settings, bot))
        if creds is not None:
            tokens[bot] = creds.access_token
    return tokens


async def _redact(admin: SynapseAdmin, token: str, room_id: str, event_id: str) -> None:
    """Redact one of the bot's own events, with the bot's account (no reason given:
    a reason would be words about the person)."""
    txn = "erase-" + hashlib.sha256(event_id.encode()).hexdigest()[:24]
    try:
        await admin.request(
            "PUT",
            f"/_matrix/client/v3/rooms/{quote(room_id)}/redact/{quote(event_id)}/{txn}",
            token=token,
            json={},
        )
    except SynapseError as error:
        if error.status not in (403, 404):  # a room left, an event gone: nothing to hide
            raise


async def purge_room(admin: SynapseAdmin, room_id: str) -> None:
    """Delete a room and everything in it from Synapse, and wait until it is gone."""
    try:
        started = await admin.admin(
            "DELETE", f"/v2/rooms/{quote(room_id)}", json={"purge": True, "block": False}
        )
    except SynapseError as error:
        if error.status in (400, 404):  # already gone
            return
        raise
    delete_id = started.get("delete_id")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PURGE_WAIT_S
    while delete_id and loop.time() < deadline:
        status = await admin.admin("GET", f"/v2/rooms/delete_status/{quote(delete_id)}")
        if status.get("status") == "complete":
            return
        if status.get("status") == "failed":
            raise SynapseError(500, "M_UNKNOWN", f"purging {room_id} failed: {status}")
        await asyncio.sleep(0.2)
    if delete_id:
        raise SynapseError(504, "M_UNKNOWN", f"purging {room_id} did not finish in time")


async def erase_rows(session: AsyncSession, person: Person) -> str:
    """Delete ``person`` and every row that names or describes them; answers the
    erasure's reference.

    What two people shared (proposals, matches, their visits and reminders) goes too:
    it cannot exist with one of them missing. Concerns go when they were raised by
    the person, are about a match of theirs, or name them. A coordinator's command
    still waiting about them goes. The bots' outbox keeps no word about them.
    Audit lines stay, with the person's Matrix ID replaced by a random reference that
    leads nowhere, and their details emptied.
    """
    reference = "erased-" + secrets.token_hex(6)
    match_ids = await _match_ids(session, person.id)
    booking_ids = list(
        await session.scalars(select(Booking.id).where(Booking.match_id.in_(match_ids)))
    )
    concern_ids = await _concerns_about(session, person, match_ids)
    direct_rooms = list(
        await session.scalars(
            select(DirectRoom.room_id).where(
                DirectRoom.matrix_id == person.matrix_id, DirectRoom.room_id.is_not(None)
            )
        )
    )
    statements: Iterable[object] = (
        delete(Reminder).where(
            or_(Reminder.booking_id.in_(booking_ids), Reminder.person_id == person.id)
        ),
        delete(CheckIn).where(
            or_(CheckIn.booking_id.in_(booking_ids), CheckIn.person_id == person.id)
        ),
        delete(Booking).where(Booking.id.in_(booking_ids)),
        delete(Concern).where(Concern.id.in_(concern_ids)),
        delete(Match).where(Match.id.in_(match_ids)),
        delete(Proposal).where(or_(Proposal.a_id == person.id, Proposal.b_id == person.id)),
        delete(WellbeingAnswer).where(WellbeingAnswer.person_id == person.id),
        delete(Dialogue).where(Dialogue.matrix_id == person.matrix_id),
        delete(DirectRoom).where(DirectRoom.matrix_id == person.matrix_id),
        delete(PendingAction).where(
            or_(
                _mentions(PendingAction.params, person.matrix_id),
                PendingAction.requested_by == person.matrix_id,
            )
        ),
        delete(OutboxMessage).where(
            or_(
                _mentions(OutboxMessage.subjects, person.matrix_id),
                _mentions(OutboxMessage.readers, person.matrix_id),
                OutboxMessage.room_id.in_(direct_rooms),
            )
        ),
        delete(HandledEvent).where(HandledEvent.room_id.in_(direct_rooms)),
        # A circle goes on without them: their place and wishes go, and the circle's
        # gatherings and ending no longer name who booked or closed them.
        delete(CircleMember).where(CircleMember.person_id == person.id),
        delete(CircleWish).where(CircleWish.person_id == person.id),
        update(Booking).where(Booking.booked_by == person.matrix_id).values(booked_by=reference),
        update(Booking)
        .where(Booking.confirmed_by == person.matrix_id)
        .values(confirmed_by=reference),
        update(Circle).where(Circle.closed_by == person.matrix_id).values(closed_by=reference),
        update(Circle).where(Circle.created_by == person.matrix_id).values(created_by=reference),
        delete(SeenDevice).where(SeenDevice.matrix_id == person.matrix_id),
        update(AuditEntry)
        .where(AuditEntry.subject == person.matrix_id)
        .values(subject=reference, details={}),
        update(AuditEntry)
        .where(AuditEntry.actor == person.matrix_id)
        .values(actor=reference, details={}),
        update(AuditEntry)
        .where(AuditEntry.person_id == person.id)
        .values(person_id=None, details={}),
        update(AuditEntry)
        .where(_mentions(AuditEntry.details, person.matrix_id))
        .values(details={}),
    )
    for statement in statements:
        await session.execute(statement.execution_options(synchronize_session=False))  # type: ignore[attr-defined]
    await session.delete(person)
    return reference


async def _concerns_about(session: AsyncSession, person: Person, match_ids: list[int]) -> list[int]:
    """Concerns raised by the person, about one of their matches, or naming them.

    A concern a volunteer with several friends raised names no match; it goes when its
    words name her (full name or Matrix ID). One that does not may be about another
    of the volunteer's friends, and stays for the coordinators.
    """
    named = [person.matrix_id, person.matrix_id.removeprefix("@").split(":")[0]]
    if person.display_name:
        named.append(person.display_name)
    return sorted(
        await session.scalars(
            select(Concern.id).where(
                or_(
                    Concern.reporter_id == person.id,
                    Concern.match_id.in_(match_ids),
                    *(Concern.text.icontains(name) for name in named),
                )
            )
        )
    )
