"""connec's own tables. The portal and the bots meet here.

Each change to these models comes with an Alembic migration in
``connec/migrations/versions``; a test checks the two never drift apart.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from connec.people import DEMO_SERVER


class UTCDateTime(TypeDecorator[datetime]):
    """Instants stored in UTC and always given back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; give a timezone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class DeploymentFact(Base):
    """Facts about this deployment that init records once (e.g. the coordinators' room)."""

    __tablename__ = "deployment_facts"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class PortalSession(Base):
    """A signed-in portal session, kept on the server so that it can be ended there.

    The cookie carries a random session ID; only its SHA-256 is kept. Signing out
    ends one session; a new first password and erasure end every session of the
    account, so an old cookie is worth nothing.
    """

    __tablename__ = "portal_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    matrix_id: Mapped[str] = mapped_column(String(255), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Person(Base):
    """Anyone connec knows: citizen, volunteer, peer citizen or staff member.

    The profile fields are what matching needs; contact details only what the
    portal needs to reach a volunteer. Everything here is erasable (see DESIGN, flow 9).
    """

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matrix_id: Mapped[str] = mapped_column(String(255), unique=True)
    # citizen | volunteer | peer | coordinator | frontline
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(128), default="")
    language: Mapped[str] = mapped_column(String(8), default="da")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Copenhagen")
    state: Mapped[str] = mapped_column(String(16), default="active")  # active | paused | ended
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    birth_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    gender: Mapped[str | None] = mapped_column(String(16), nullable=True)
    municipality: Mapped[str | None] = mapped_column(String(64), nullable=True)
    postcode: Mapped[str | None] = mapped_column(String(8), nullable=True)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    interest_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    interest_words: Mapped[list[str]] = mapped_column(JSON, default=list)  # their own words
    about: Mapped[str] = mapped_column(Text, default="")
    contact_modes: Mapped[list[str]] = mapped_column(JSON, default=list)
    availability: Mapped[list[str]] = mapped_column(JSON, default=list)  # "tue-am", ...
    partner_gender: Mapped[str | None] = mapped_column(String(16), nullable=True)
    age_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    age_max: Mapped[int | None] = mapped_column(Integer, nullable=True)
    near_me: Mapped[bool] = mapped_column(Boolean, default=False)
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    approval: Mapped[str] = mapped_column(String(16), default="approved")  # volunteers
    profile_complete: Mapped[bool] = mapped_column(Boolean, default=False)

    email: Mapped[str | None] = mapped_column(String(255), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    organisation: Mapped[str | None] = mapped_column(String(128), nullable=True)
    motivation: Mapped[str] = mapped_column(Text, default="")
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    enrolled_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    rejection_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


def real_person() -> ColumnElement[bool]:
    """Leaves out the made-up people of ``connec demo data``: bots never write to them."""
    return Person.matrix_id.not_like(f"%:{DEMO_SERVER}")


class Dialogue(Base):
    """Where a person is in a conversation with a bot (intake, check-in, survey).

    Stored after every answer, so a restart continues where the person was.
    """

    __tablename__ = "dialogues"
    __table_args__ = (UniqueConstraint("bot", "matrix_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot: Mapped[str] = mapped_column(String(32))
    matrix_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))  # intake | edit | checkin | wellbeing | ...
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Proposal(Base):
    """A suggested pair. Both must say yes; nobody learns who said no.

    suggested (awaiting a coordinator) -> asked -> accepted | declined | expired | cancelled
    """

    __tablename__ = "proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    a_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    b_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), default="suggested")
    source: Mapped[str] = mapped_column(String(16), default="matching")  # matching | manual
    a_answer: Mapped[str | None] = mapped_column(String(8), nullable=True)  # yes | no
    b_answer: Mapped[str | None] = mapped_column(String(8), nullable=True)
    a_event_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    b_event_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The suggestion as shown in the coordinators' room, when approval is needed.
    coordinator_event_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_proposals_state", "state"),)


class Match(Base):
    """Two people who both said yes, and their visit room.

    The room is made by a recorded state machine:
    accepted -> room_created -> invited -> introduced; later paused or ended.
    A restart resumes from the recorded step; a match never gets two rooms.
    """

    __tablename__ = "matches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int | None] = mapped_column(
        ForeignKey("proposals.id", ondelete="SET NULL"), unique=True, nullable=True
    )
    a_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    b_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), default="accepted")
    room_id: Mapped[str | None] = mapped_column(String(255), unique=True, nullable=True)
    room_txn: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    introduced_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    nudged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    end_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class Concern(Base):
    """A worry someone raised privately; coordinators are told at once."""

    __tablename__ = "concerns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reporter_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), nullable=True
    )
    match_id: Mapped[int | None] = mapped_column(
        ForeignKey("matches.id", ondelete="SET NULL"), nullable=True
    )
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default="person")  # person | checkin | silence
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | handled
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    handled_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class PendingAction(Base):
    """A coordinator command that changes something, waiting for its confirmation."""

    __tablename__ = "pending_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot: Mapped[str] = mapped_column(String(32))
    room_id: Mapped[str] = mapped_column(String(255))
    command_event_id: Mapped[str] = mapped_column(String(255), unique=True)
    question_event_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    requested_by: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="waiting")  # waiting | done | cancelled
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Booking(Base):
    """A visit in a visit room: the source of truth for its reminders.

    proposed (waiting for the other person) -> confirmed -> done | cancelled | moved.
    Before it is proposed the bot may check a reading first: offered (a day and time
    seen in chat; either person may say yes) or unsure (a reading the booker is asked
    to confirm, "Mente du …?"); a no or silence leaves it there, never booked.
    """

    __tablename__ = "bookings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The short number people use is the first row's id; the row a move makes keeps it
    # here (None: this row is the first, and its id is the number).
    number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # A visit belongs to a match; a gathering to a circle.
    match_id: Mapped[int | None] = mapped_column(
        ForeignKey("matches.id", ondelete="CASCADE"), nullable=True
    )
    circle_id: Mapped[int | None] = mapped_column(
        ForeignKey("circles.id", ondelete="CASCADE"), nullable=True
    )
    room_id: Mapped[str] = mapped_column(String(255))
    booked_by: Mapped[str] = mapped_column(String(255))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    zone: Mapped[str] = mapped_column(String(64), default="Europe/Copenhagen")
    duration_minutes: Mapped[int] = mapped_column(Integer, default=30)
    contact_mode: Mapped[str | None] = mapped_column(String(8), nullable=True)
    weekly: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default="proposed")
    question_event_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    confirmed_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    calendar_mxc: Mapped[str | None] = mapped_column(String(255), nullable=True)
    replaces_id: Mapped[int | None] = mapped_column(
        ForeignKey("bookings.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @property
    def visit_number(self) -> int:
        """The number people know this visit by, kept when it moves."""
        return self.number if self.number is not None else self.id


class Reminder(Base):
    """One message due at one instant: pending -> sent | missed_reported | cancelled."""

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("booking_id", "occurrence_at", "kind", "person_id"),
        Index("ix_reminders_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    occurrence_at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(16))  # before | checkin
    offset_minutes: Mapped[int] = mapped_column(Integer, default=0)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), nullable=True
    )
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(16), default="pending")
    event_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class CheckIn(Base):
    """How a visit went, asked privately of each person afterwards."""

    __tablename__ = "check_ins"
    __table_args__ = (UniqueConstraint("booking_id", "occurrence_at", "person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    occurrence_at: Mapped[datetime] = mapped_column(UTCDateTime())
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    words: Mapped[str | None] = mapped_column(Text, nullable=True)
    share_words: Mapped[bool] = mapped_column(Boolean, default=False)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    raised: Mapped[bool] = mapped_column(Boolean, default=False)


class WellbeingAnswer(Base):
    """One person's three-item UCLA loneliness scale at one time (each item 1-3)."""

    __tablename__ = "wellbeing_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    companionship: Mapped[int | None] = mapped_column(Integer, nullable=True)
    left_out: Mapped[int | None] = mapped_column(Integer, nullable=True)
    isolated: Mapped[int | None] = mapped_column(Integer, nullable=True)

    @property
    def total(self) -> int | None:
        items = (self.companionship, self.left_out, self.isolated)
        return None if None in items else sum(items)  # type: ignore[arg-type]


class DirectRoom(Base):
    """The one direct room between a bot and a person.

    A room the bot makes is promised first: the row is stored with ``room_txn`` and
    no ``room_id``, and the room carries the same token in its state, so a crash
    between making the room and storing its ID finds that room again.
    """

    __tablename__ = "direct_rooms"
    __table_args__ = (UniqueConstraint("bot", "matrix_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot: Mapped[str] = mapped_column(String(32))
    matrix_id: Mapped[str] = mapped_column(String(255))
    room_id: Mapped[str | None] = mapped_column(String(255), unique=True, nullable=True)
    room_txn: Mapped[str | None] = mapped_column(String(24), nullable=True)
    greeted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class BotSyncState(Base):
    """Where a bot's sync stands; written only after a batch was handled."""

    __tablename__ = "bot_sync_state"

    bot: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_batch: Mapped[str] = mapped_column(Text)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class HandledEvent(Base):
    """An event a bot has acted on, so a restart never acts on it twice."""

    __tablename__ = "handled_events"

    bot: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255))
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuditEntry(Base):
    """Who did what, when: coordinator actions, data-changing portal actions, erasures.

    ``details`` must never carry message bodies, passwords or erased personal data.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(255), nullable=True)
    details: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), nullable=True
    )


class OutboxMessage(Base):
    """A message a bot means for people, kept until one of them can read it.

    waiting -> sent | cancelled. Written before it is sent, and sent with its
    deterministic transaction ID, so a crash between the two never sends it twice.
    A message waits while a reader has no device yet: megolm can only encrypt for
    devices that exist, so it goes out when the first one appears (DESIGN, "Encrypted
    for someone"). ``readers`` lists who must be able to read it; null means anyone in
    the room but the bots (the coordinators' room). ``subjects`` lists whom it names or
    describes, so erasure finds every word a bot said about a person.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("bot", "txn"),
        Index("ix_outbox_waiting", "bot", "state", "room_id"),
        Index("ix_outbox_event", "event_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot: Mapped[str] = mapped_column(String(32))
    room_id: Mapped[str] = mapped_column(String(255))
    txn: Mapped[str] = mapped_column(String(64))
    readers: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    subjects: Mapped[list[str]] = mapped_column(JSON, default=list)
    # What the message is part of, e.g. "proposal:12:a": how a later answer or a
    # re-asked question on a new device finds its way back to it.
    ref: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    content: Mapped[dict[str, object]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="waiting")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Past this, a message still waiting is no use (a reminder for a visit that is over).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    event_id: Mapped[str | None] = mapped_column(String(255), nullable=True)


class SeenDevice(Base):
    """A device of a person a bot has seen, so a new one is known as new.

    A person's first devices get what waited for them; a device added later gets
    the questions still open for them asked again (its keys cannot open older
    messages).
    """

    __tablename__ = "seen_devices"

    bot: Mapped[str] = mapped_column(String(32), primary_key=True)
    matrix_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CircleWish(Base):
    """Someone who asked to be in a circle, or offered to host one about a topic.

    kind ``member``: they would like a group; kind ``host``: they offer to lead a
    circle about ``topic`` (their own words). open -> used | withdrawn.
    """

    __tablename__ = "circle_wishes"
    __table_args__ = (Index("ix_circle_wishes_open", "state", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # member | host
    topic: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Circle(Base):
    """A small interest group of 3-8 people with a host, in one language.

    asking (host and members asked) -> ready (the host and two members said yes) ->
    room_created -> invited -> introduced; lapsed when too few said yes in time;
    closed when a coordinator or the last members end it. The room is made by the
    same recorded steps as a visit room, so a crash never makes two.
    """

    __tablename__ = "circles"
    __table_args__ = (Index("ix_circles_state", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic: Mapped[str] = mapped_column(String(128))
    language: Mapped[str] = mapped_column(String(8), default="da")
    slot: Mapped[str | None] = mapped_column(String(8), nullable=True)  # "tue-pm": when all can
    score: Mapped[float] = mapped_column(Float, default=0.0)
    source: Mapped[str] = mapped_column(String(16), default="forming")  # forming | manual
    state: Mapped[str] = mapped_column(String(16), default="asking")
    room_id: Mapped[str | None] = mapped_column(String(255), unique=True, nullable=True)
    room_txn: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    introduced_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(255), nullable=True)


class CircleMember(Base):
    """One person in a circle: its host or a member, and where their yes stands.

    asked -> yes | no; yes -> left. Nobody in the circle learns who said no.
    """

    __tablename__ = "circle_members"
    __table_args__ = (UniqueConstraint("circle_id", "person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(8), default="member")  # host | member
    state: Mapped[str] = mapped_column(String(8), default="asked")  # asked | yes | no | left
    event_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The last gathering they came to (a word in the room near its time), for kind care.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    noticed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
