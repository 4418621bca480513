"""A visit room and the two people in it, or a circle and its people, as the
scheduler's jobs need them.

The visit room belongs to a ``Match``, a circle's room to a ``Circle``; the
scheduler only reads them (the matchmaker makes and ends them). Times are shown in
each person's own zone and language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bots.scheduler.when_words import spell_out, spell_out_weekly
from connec.i18n import normalise_language
from connec.models import Booking, Circle, CircleMember, Match, Person

# Matches whose room is open for visits: the matchmaker has invited both people
# (and usually said hello). Paused or ended matches get no bookings or reminders.
ACTIVE_STATES = ("invited", "introduced")


def first_name(person: Person) -> str:
    """What the other person calls them: the first name, or the Matrix localpart."""
    name = (person.display_name or "").split(" ")[0]
    return name or person.matrix_id.lstrip("@").split(":")[0]


@dataclass(frozen=True)
class VisitRoom:
    """A match, its room and its two people (loaded together, used after the session)."""

    match: Match
    a: Person
    b: Person

    @property
    def room_id(self) -> str:
        assert self.match.room_id is not None
        return self.match.room_id

    @property
    def people(self) -> tuple[Person, Person]:
        return self.a, self.b

    @property
    def active(self) -> bool:
        return self.match.state in ACTIVE_STATES

    @property
    def mentions(self) -> list[str]:
        return [self.a.matrix_id, self.b.matrix_id]

    def person(self, matrix_id: str) -> Person | None:
        """One of the two, by Matrix ID; None for anyone else in the room."""
        return next((p for p in self.people if p.matrix_id == matrix_id), None)

    def other(self, person: Person) -> Person:
        return self.b if person.id == self.a.id else self.a

    def language(self, default: str) -> str:
        """The language of messages both read: theirs if shared, else connec's default."""
        a, b = normalise_language(self.a.language), normalise_language(self.b.language)
        return a if a == b else normalise_language(default)

    def when(self, at: datetime, weekly: bool, lang: str) -> list[dict[str, str | None]]:
        """A visit's time in words for both: one line if they share a zone, else one each.

        Each person's own line is in their own language and zone, so someone abroad
        reads the time on their own clock.
        """
        spell = spell_out_weekly if weekly else spell_out
        if self.a.timezone == self.b.timezone:
            return [{"name": None, "when": spell(at, lang, self.a.timezone), "zone": None}]
        return [
            {
                "name": first_name(p),
                "when": spell(at, p.language, p.timezone),
                "zone": p.timezone,
            }
            for p in self.people
        ]


async def _people(session: AsyncSession, match: Match | None) -> VisitRoom | None:
    if match is None or match.room_id is None:
        return None
    a, b = await session.get(Person, match.a_id), await session.get(Person, match.b_id)
    if a is None or b is None:
        return None
    return VisitRoom(match, a, b)


async def visit_room(session: AsyncSession, room_id: str) -> VisitRoom | None:
    """The visit room with this Matrix room ID, or None if the room is not one."""
    match = await session.scalar(select(Match).where(Match.room_id == room_id))
    return await _people(session, match)


async def visit_room_of_match(session: AsyncSession, match_id: int | None) -> VisitRoom | None:
    if match_id is None:
        return None
    return await _people(session, await session.get(Match, match_id))


@dataclass(frozen=True)
class CircleRoom:
    """A circle, its room and the people in it who said yes, the host first.

    Read like a visit room by reminders and calendar files: one message in the room
    for everyone, the time in words once per time zone among them.
    """

    circle: Circle
    people: tuple[Person, ...]
    host: Person | None

    @property
    def room_id(self) -> str:
        assert self.circle.room_id is not None
        return self.circle.room_id

    @property
    def active(self) -> bool:
        return self.circle.state == "introduced"

    @property
    def mentions(self) -> list[str]:
        return [p.matrix_id for p in self.people]

    @property
    def a(self) -> Person:
        """The host (or the first member): how reports to coordinators name the circle."""
        return self.host or self.people[0]

    @property
    def b(self) -> Person:
        return next((p for p in self.people if p is not self.a), self.a)

    def person(self, matrix_id: str) -> Person | None:
        return next((p for p in self.people if p.matrix_id == matrix_id), None)

    def is_host(self, person: Person) -> bool:
        return self.host is not None and person.id == self.host.id

    def language(self, default: str) -> str:
        return normalise_language(self.circle.language or default)

    def when(self, at: datetime, weekly: bool, lang: str) -> list[dict[str, str | None]]:
        """A gathering's time in words: one line if all share a zone, else one per zone,
        naming who reads it there (someone abroad reads their own clock)."""
        spell = spell_out_weekly if weekly else spell_out
        zones: dict[str, list[Person]] = {}
        for person in self.people:
            zones.setdefault(person.timezone, []).append(person)
        if len(zones) <= 1:
            zone = next(iter(zones), "Europe/Copenhagen")
            return [{"name": None, "when": spell(at, lang, zone), "zone": None}]
        return [
            {
                "name": ", ".join(first_name(p) for p in people),
                "when": spell(at, lang, zone),
                "zone": zone,
            }
            for zone, people in zones.items()
        ]


async def circle_room(session: AsyncSession, circle: Circle | None) -> CircleRoom | None:
    if circle is None or circle.room_id is None:
        return None
    rows = (
        await session.execute(
            select(CircleMember.role, Person)
            .join(Person, Person.id == CircleMember.person_id)
            .where(CircleMember.circle_id == circle.id, CircleMember.state == "yes")
            .order_by(CircleMember.role, CircleMember.id)
        )
    ).all()
    if not rows:
        return None
    host = next((p for role, p in rows if role == "host"), None)
    return CircleRoom(circle, tuple(p for _, p in rows), host)


async def circle_room_in(session: AsyncSession, room_id: str) -> CircleRoom | None:
    """The circle with this Matrix room, or None if the room is not one."""
    return await circle_room(
        session, await session.scalar(select(Circle).where(Circle.room_id == room_id))
    )


async def room_of_booking(session: AsyncSession, booking: Booking) -> VisitRoom | CircleRoom | None:
    """Where a booking belongs: its match's visit room, or its circle's."""
    if booking.circle_id is not None:
        return await circle_room(session, await session.get(Circle, booking.circle_id))
    return await visit_room_of_match(session, booking.match_id)
