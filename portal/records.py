"""What connec holds about one person: the audit trail and the export.

Everything hangs on a ``Person`` row, or on their Matrix ID where a table keeps the ID
instead (dialogues, direct rooms, the audit log). Erasure (``connec/erasure.py``)
removes what the export shows, and more: what others wrote about the person.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from connec.models import (
    AuditEntry,
    Base,
    Booking,
    CheckIn,
    Circle,
    CircleMember,
    CircleWish,
    Concern,
    Dialogue,
    DirectRoom,
    Match,
    Person,
    Proposal,
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
    circles = (
        await session.execute(
            select(CircleMember, Circle.topic)
            .join(Circle, Circle.id == CircleMember.circle_id)
            .where(CircleMember.person_id == person.id)
        )
    ).all()
    wishes = await session.scalars(select(CircleWish).where(CircleWish.person_id == person.id))
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
        "circles": [{**_row(m, leave_out=("event_id",)), "topic": topic} for m, topic in circles],
        "circle_wishes": [_row(w) for w in wishes],
        "history": [_row(a) for a in audit],
    }
