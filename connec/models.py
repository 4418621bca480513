"""connec's own tables. The portal and the bots meet here.

Each change to these models comes with an Alembic migration in
``connec/migrations/versions``; a test checks the two never drift apart.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


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


class Person(Base):
    """Anyone connec knows: citizen, volunteer, peer citizen or staff member."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matrix_id: Mapped[str] = mapped_column(String(255), unique=True)
    role: Mapped[str] = mapped_column(
        String(16)
    )  # citizen | volunteer | peer | coordinator | frontline
    display_name: Mapped[str] = mapped_column(String(128), default="")
    language: Mapped[str] = mapped_column(String(8), default="da")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Copenhagen")
    state: Mapped[str] = mapped_column(String(16), default="active")  # active | paused | ended
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DirectRoom(Base):
    """The one direct room between a bot and a person."""

    __tablename__ = "direct_rooms"
    __table_args__ = (UniqueConstraint("bot", "matrix_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot: Mapped[str] = mapped_column(String(32))
    matrix_id: Mapped[str] = mapped_column(String(255))
    room_id: Mapped[str] = mapped_column(String(255), unique=True)
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
