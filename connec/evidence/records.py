"""What the report reads of connec's tables, for one municipality (or all of them).

Only dates, states, roles, birth years and questionnaire totals: never a message,
a name or anything a person wrote. The result is plain data for :mod:`.report`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from connec.evidence.stats import Answer, Circle, Friendship
from connec.models import Booking, CircleMember, Match, Person, Proposal, WellbeingAnswer
from connec.models import Circle as CircleRow
from connec.visits import VisitSeries

REPORTED_ROLES = ("citizen", "peer")
"""The people the service is for, and the only ones asked the loneliness scale."""
OPEN_PROPOSALS = ("suggested", "asked")


@dataclass(frozen=True)
class PersonRecord:
    id: int
    role: str
    birth_year: int | None
    enrolled_at: datetime
    state: str


@dataclass(frozen=True)
class BookingRecord:
    match_id: int
    number: int
    confirmed: bool
    series: VisitSeries


@dataclass(frozen=True)
class GatheringRecord:
    """A circle's gathering: booked by its host and agreed at once, maybe weekly."""

    circle_id: int
    series: VisitSeries


@dataclass
class Records:
    """Everything the report counts, already limited to its municipality."""

    people: list[PersonRecord] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    friendships: list[Friendship] = field(default_factory=list)
    bookings: list[BookingRecord] = field(default_factory=list)
    circles: list[Circle] = field(default_factory=list)
    """Circles that got a room (were introduced), with their members still in them."""
    gatherings: list[GatheringRecord] = field(default_factory=list)
    first_asked: dict[int, datetime] = field(default_factory=dict)
    """When each person was first asked about a proposed friend."""
    first_room: dict[int, datetime] = field(default_factory=dict)
    """When each person's first visit room began."""
    busy: set[int] = field(default_factory=set)
    """People with a live friendship or an open proposal now."""
    free_since: dict[int, datetime] = field(default_factory=dict)
    """When each person's latest friendship ended."""


def _scope(column: Any, municipality: str | None) -> Any:
    return true() if municipality is None else column == municipality


async def read_records(session: AsyncSession, municipality: str | None) -> Records:
    """The report's records for ``municipality`` (None: the whole deployment)."""
    people = [
        PersonRecord(*row)
        for row in (
            await session.execute(
                select(
                    Person.id, Person.role, Person.birth_year, Person.created_at, Person.state
                ).where(Person.role.in_(REPORTED_ROLES), _scope(Person.municipality, municipality))
            )
        ).all()
    ]
    ids = {p.id for p in people}
    records = Records(people=people)
    records.answers = await read_answers(session, municipality)

    in_scope = or_(
        Match.a_id.in_(select_ids(municipality)), Match.b_id.in_(select_ids(municipality))
    )
    for match in (await session.scalars(select(Match).where(in_scope))).all():
        for person_id in (match.a_id, match.b_id):
            if person_id not in ids:
                continue
            if match.state != "ended":
                records.busy.add(person_id)
            elif match.ended_at is not None:
                records.free_since[person_id] = max(
                    match.ended_at, records.free_since.get(person_id, match.ended_at)
                )
            if match.introduced_at is not None:
                records.first_room[person_id] = min(
                    match.introduced_at, records.first_room.get(person_id, match.introduced_at)
                )
        if match.introduced_at is not None:
            ended = match.ended_at if match.state == "ended" else None
            records.friendships.append(Friendship(match.id, match.introduced_at, ended))
    started = {f.id for f in records.friendships}

    proposal_scope = or_(
        Proposal.a_id.in_(select_ids(municipality)), Proposal.b_id.in_(select_ids(municipality))
    )
    for a_id, b_id, state, asked_at in (
        await session.execute(
            select(Proposal.a_id, Proposal.b_id, Proposal.state, Proposal.asked_at).where(
                proposal_scope
            )
        )
    ).all():
        for person_id in (a_id, b_id):
            if person_id not in ids:
                continue
            if state in OPEN_PROPOSALS:
                records.busy.add(person_id)
            if asked_at is not None:
                records.first_asked[person_id] = min(
                    asked_at, records.first_asked.get(person_id, asked_at)
                )

    if started:
        for booking in (
            await session.scalars(select(Booking).where(Booking.match_id.in_(started)))
        ).all():
            if booking.match_id is None:
                continue  # a circle's gathering (read below; said for the type)
            records.bookings.append(
                BookingRecord(
                    booking.match_id,
                    booking.visit_number,
                    booking.confirmed_by is not None or booking.state in ("confirmed", "done"),
                    VisitSeries(
                        booking.starts_at, booking.weekly, booking.state, booking.updated_at
                    ),
                )
            )
    await read_circles(session, municipality, records)
    return records


async def read_circles(session: AsyncSession, municipality: str | None, records: Records) -> None:
    """The circles that got a room and had one of the report's people in it (said yes,
    and still there or left after being invited in), their gatherings, and who of the
    report's people is in them now (said yes and did not leave)."""
    was_in = or_(
        CircleMember.state == "yes",
        and_(CircleMember.state == "left", CircleMember.invited_at.is_not(None)),
    )
    in_scope = select(CircleMember.circle_id).where(
        CircleMember.person_id.in_(select_ids(municipality)), was_in
    )
    made = (
        await session.execute(
            select(
                CircleRow.id, CircleRow.introduced_at, CircleRow.state, CircleRow.closed_at
            ).where(CircleRow.introduced_at.is_not(None), CircleRow.id.in_(in_scope))
        )
    ).all()
    if not made:
        return
    ids = [circle_id for circle_id, *_ in made]
    members: dict[int, set[int]] = {circle_id: set() for circle_id in ids}
    for circle_id, person_id in (
        await session.execute(
            select(CircleMember.circle_id, CircleMember.person_id).where(
                CircleMember.circle_id.in_(ids),
                CircleMember.state == "yes",
                CircleMember.person_id.in_(select_ids(municipality)),
            )
        )
    ).all():
        members[circle_id].add(person_id)
    for circle_id, introduced_at, state, closed_at in made:
        assert introduced_at is not None  # selected so; said for the type
        ended = closed_at if state == "closed" else None
        records.circles.append(
            Circle(circle_id, introduced_at, ended, frozenset(members[circle_id]))
        )
    for booking in (await session.scalars(select(Booking).where(Booking.circle_id.in_(ids)))).all():
        if booking.circle_id is None:
            continue  # selected out above; said for the type
        records.gatherings.append(
            GatheringRecord(
                booking.circle_id,
                VisitSeries(booking.starts_at, booking.weekly, booking.state, booking.updated_at),
            )
        )


async def read_answers(
    session: AsyncSession,
    municipality: str | None,
    *,
    since: datetime | None = None,
    roles: tuple[str, ...] | None = REPORTED_ROLES,
) -> list[Answer]:
    """Every complete UCLA-3 answer in the municipality (since ``since``; of ``roles``,
    None: anyone's, as the dashboard counts)."""
    query = (
        select(
            WellbeingAnswer.person_id,
            WellbeingAnswer.answered_at,
            WellbeingAnswer.companionship,
            WellbeingAnswer.left_out,
            WellbeingAnswer.isolated,
        )
        .join(Person, WellbeingAnswer.person_id == Person.id)
        .where(
            WellbeingAnswer.answered_at.is_not(None),
            _scope(Person.municipality, municipality),
        )
    )
    if roles is not None:
        query = query.where(Person.role.in_(roles))
    if since is not None:
        query = query.where(WellbeingAnswer.answered_at >= since)
    return [
        Answer(person_id, at, companionship + left_out + isolated)
        for person_id, at, companionship, left_out, isolated in (await session.execute(query))
        if at is not None and companionship and left_out and isolated
    ]


def select_ids(municipality: str | None) -> Any:
    """The IDs of the citizens and peers the report covers."""
    return select(Person.id).where(
        Person.role.in_(REPORTED_ROLES), _scope(Person.municipality, municipality)
    )
