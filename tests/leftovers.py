"""What a story made in the session's shared database, ended when the story ends.

Every story against the session's Synapse shares one connec database with the rest,
and the bots act on everyone they find there: a matching round pairs whoever is
active, the scheduler's care job nudges every quiet pair and raises them with the
coordinators, a waiting coordinator command can be confirmed by a later "ja". So
when a story ends, what it made is closed the way connec itself closes things:
people ended, open proposals cancelled, matches ended, their visits and reminders
cancelled, concerns dealt with, waiting commands cancelled. Rows are kept (a story
may read them after its bots stop), they just no longer ask anything of anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from connec.db import make_sync_engine
from connec.models import Booking, Concern, Match, PendingAction, Person, Proposal, Reminder

WATCHED = (Person, Proposal, Match, Booking, Concern, PendingAction)
ENDED_BY = "tests"


@dataclass(frozen=True)
class Marks:
    """The highest id of each watched table when a story began."""

    highest: dict[str, int]

    def after(self, model: type) -> object:
        return model.id > self.highest[model.__tablename__]  # type: ignore[attr-defined]


def marks(db_url: str) -> Marks:
    engine = make_sync_engine(db_url)
    try:
        with Session(engine) as session:
            return Marks(
                {
                    model.__tablename__: session.scalar(select(func.max(model.id))) or 0
                    for model in WATCHED
                }
            )
    finally:
        engine.dispose()


def end_what_was_made(db_url: str, since: Marks) -> None:
    """Close everything made after ``since``, as connec would close it."""
    now = datetime.now(UTC)
    engine = make_sync_engine(db_url)
    try:
        with Session(engine) as session, session.begin():
            people = select(Person.id).where(since.after(Person))
            matches = select(Match.id).where(
                or_(since.after(Match), Match.a_id.in_(people), Match.b_id.in_(people))
            )
            bookings = select(Booking.id).where(
                or_(since.after(Booking), Booking.match_id.in_(matches))
            )
            for statement in (
                update(Reminder)
                .where(Reminder.booking_id.in_(bookings), Reminder.state == "pending")
                .values(state="cancelled"),
                update(Booking)
                .where(Booking.id.in_(bookings), Booking.state.in_(("proposed", "confirmed")))
                .values(state="cancelled"),
                update(Match)
                .where(Match.id.in_(matches), Match.state != "ended")
                .values(state="ended", ended_at=now, ended_by=ENDED_BY),
                update(Proposal)
                .where(
                    or_(
                        since.after(Proposal),
                        Proposal.a_id.in_(people),
                        Proposal.b_id.in_(people),
                    ),
                    Proposal.state.in_(("suggested", "asked")),
                )
                .values(state="cancelled"),
                update(Concern)
                .where(since.after(Concern), Concern.state == "open")
                .values(state="handled", handled_by=ENDED_BY, handled_at=now),
                update(PendingAction)
                .where(since.after(PendingAction), PendingAction.state == "waiting")
                .values(state="cancelled"),
                update(Person).where(Person.id.in_(people)).values(state="ended"),
            ):
                session.execute(statement.execution_options(synchronize_session=False))
    finally:
        engine.dispose()
