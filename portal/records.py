"""What connec holds about one person: the audit trail, the export, and erasure.

Everything hangs on a ``Person`` row, or on their Matrix ID where a table keeps the ID
instead (dialogues, direct rooms, the audit log). Export and erasure walk the same
list, so what a person can download is what erasure removes.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from connec.models import (
    AuditEntry,
    Base,
    Booking,
    CheckIn,
    Concern,
    Dialogue,
    DirectRoom,
    Match,
    Person,
    Proposal,
    Reminder,
    WellbeingAnswer,
)

PORTAL_ACTOR = "portal"
"""The actor of what the portal does on its own account (sign-up, erasure on request)."""


def audit_line(
    *,
    actor: str,
    action: str,
    at: datetime,
    subject: str | None = None,
    person_id: int | None = None,
    details: dict[str, object] | None = None,
) -> dict[str, Any]:
    """The columns of one audit line. ``details`` never holds passwords or free text."""
    return {
        "at": at,
        "actor": actor,
        "action": action,
        "subject": subject,
        "person_id": person_id,
        "details": details or {},
    }


def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    at: datetime,
    subject: str | None = None,
    person_id: int | None = None,
    details: dict[str, object] | None = None,
) -> None:
    """Add one line to the audit log, as :func:`audit_line` says."""
    line = audit_line(
        actor=actor, action=action, at=at, subject=subject, person_id=person_id, details=details
    )
    session.add(AuditEntry(**line))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _row(row: Base, *, leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        column.key: _plain(getattr(row, column.key))
        for column in row.__table__.columns
        if column.key not in leave_out
    }


async def _match_ids(session: AsyncSession, person_id: int) -> list[int]:
    rows = await session.scalars(
        select(Match.id).where(or_(Match.a_id == person_id, Match.b_id == person_id))
    )
    return list(rows)


async def export_person(session: AsyncSession, person: Person) -> dict[str, Any]:
    """Everything connec holds about ``person``, as plain JSON-ready data.

    Of what two people share (proposals, matches, visits) this gives what concerns
    this person, but not the other person's profile.
    """
    match_ids = await _match_ids(session, person.id)
    proposals = await session.scalars(
        select(Proposal).where(or_(Proposal.a_id == person.id, Proposal.b_id == person.id))
    )
    matches = await session.scalars(select(Match).where(Match.id.in_(match_ids)))
    bookings = await session.scalars(select(Booking).where(Booking.match_id.in_(match_ids)))
    check_ins = await session.scalars(select(CheckIn).where(CheckIn.person_id == person.id))
    wellbeing = await session.scalars(
        select(WellbeingAnswer).where(WellbeingAnswer.person_id == person.id)
    )
    concerns = await session.scalars(select(Concern).where(Concern.reporter_id == person.id))
    dialogues = await session.scalars(
        select(Dialogue).where(Dialogue.matrix_id == person.matrix_id)
    )
    rooms = await session.scalars(
        select(DirectRoom).where(DirectRoom.matrix_id == person.matrix_id)
    )
    audit = await session.scalars(
        select(AuditEntry)
        .where(
            or_(
                AuditEntry.person_id == person.id,
                AuditEntry.subject == person.matrix_id,
                AuditEntry.actor == person.matrix_id,
            )
        )
        .order_by(AuditEntry.at)
    )
    return {
        "about": "What connec holds about you.",
        "person": _row(person),
        "proposals": [
            {
                **_row(p, leave_out=("a_event_id", "b_event_id")),
                "your_answer": p.a_answer if p.a_id == person.id else p.b_answer,
            }
            for p in proposals
        ],
        "matches": [_row(m, leave_out=("room_txn",)) for m in matches],
        "visits": [_row(b, leave_out=("question_event_id", "calendar_mxc")) for b in bookings],
        "check_ins": [_row(c) for c in check_ins],
        "wellbeing_answers": [_row(w) for w in wellbeing],
        "concerns_raised": [_row(c) for c in concerns],
        "conversations_with_bots": [_row(d) for d in dialogues],
        "direct_rooms": [_row(r) for r in rooms],
        "history": [_row(a) for a in audit],
    }


async def erase_person(session: AsyncSession, person: Person) -> str:
    """Delete ``person`` and everything that hangs on them; answers the erasure's reference.

    What two people shared (proposals, matches, their visits and reminders) goes too:
    it cannot exist with one of them missing. Concerns this person raised, or about a
    match of theirs, go as well, since their text may name them. Audit lines stay,
    with the person's Matrix ID replaced by a random reference that leads nowhere.
    """
    reference = "erased-" + secrets.token_hex(6)
    match_ids = await _match_ids(session, person.id)
    booking_ids = list(
        await session.scalars(select(Booking.id).where(Booking.match_id.in_(match_ids)))
    )
    for statement in (
        delete(Reminder).where(
            or_(Reminder.booking_id.in_(booking_ids), Reminder.person_id == person.id)
        ),
        delete(CheckIn).where(
            or_(CheckIn.booking_id.in_(booking_ids), CheckIn.person_id == person.id)
        ),
        delete(Booking).where(Booking.id.in_(booking_ids)),
        delete(Concern).where(
            or_(Concern.reporter_id == person.id, Concern.match_id.in_(match_ids))
        ),
        delete(Match).where(Match.id.in_(match_ids)),
        delete(Proposal).where(or_(Proposal.a_id == person.id, Proposal.b_id == person.id)),
        delete(WellbeingAnswer).where(WellbeingAnswer.person_id == person.id),
        delete(Dialogue).where(Dialogue.matrix_id == person.matrix_id),
        delete(DirectRoom).where(DirectRoom.matrix_id == person.matrix_id),
        update(AuditEntry)
        .where(AuditEntry.subject == person.matrix_id)
        .values(subject=reference, details={}),
        update(AuditEntry).where(AuditEntry.actor == person.matrix_id).values(actor=reference),
        update(AuditEntry).where(AuditEntry.person_id == person.id).values(person_id=None),
    ):
        await session.execute(statement.execution_options(synchronize_session=False))
    await session.delete(person)
    return reference
