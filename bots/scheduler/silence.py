"""Noticing when a pair goes quiet.

Every message in a visit room counts as life (``Match.last_activity_at``), and so
does a visit that took place. A room quiet for ``silence_days`` gets a gentle nudge
to both; quiet for twice that, the coordinators are told. A pair with a confirmed
visit ahead has a plan and is left in peace. New activity starts the count again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update

from bots.common.runtime import BotRuntime, txn_id
from bots.scheduler.visit_room import first_name, visit_room_of_match
from connec.models import Booking, Concern, Match

log = logging.getLogger(__name__)

NUDGE, RAISE = "nudge", "raise"


async def note_activity(runtime: BotRuntime, room_id: str) -> None:
    """Someone wrote in a visit room: the quiet count starts again."""
    async with runtime.db.session() as session:
        await session.execute(
            update(Match)
            .where(Match.room_id == room_id)
            .values(last_activity_at=runtime.clock.now(), nudged_at=None, escalated_at=None)
        )


@dataclass(frozen=True)
class Quiet:
    """What is known of one match's activity, for :func:`verdict`."""

    last_activity_at: datetime | None
    introduced_at: datetime | None
    created_at: datetime
    last_visit_at: datetime | None
    visit_ahead: bool
    nudged: bool
    escalated: bool


def verdict(quiet: Quiet, now: datetime, silence: timedelta) -> str | None:
    """Nudge, raise with the coordinators, or nothing (pure)."""
    if quiet.visit_ahead:
        return None
    moments = [quiet.last_activity_at, quiet.introduced_at, quiet.last_visit_at]
    last = max((m for m in moments if m is not None), default=quiet.created_at)
    if now - last >= 2 * silence and not quiet.escalated:
        return RAISE
    if now - last >= silence and not quiet.nudged:
        return NUDGE
    return None


async def check(runtime: BotRuntime) -> None:
    """Look at every active visit room once (the periodic care job)."""
    now = runtime.clock.now()
    silence = timedelta(days=runtime.settings.visits.silence_days)
    async with runtime.db.session() as session:
        matches = (
            await session.scalars(
                select(Match).where(Match.state == "introduced", Match.room_id.is_not(None))
            )
        ).all()
        visits = (
            await session.execute(
                select(
                    Booking.match_id,
                    func.max(Booking.starts_at),
                    # max() of a boolean is not portable (PostgreSQL has none).
                    func.max(case((Booking.weekly.is_(True), 1), else_=0)),
                )
                .where(Booking.state.in_(("confirmed", "done")))
                .group_by(Booking.match_id)
            )
        ).all()
    by_match = {row[0]: (row[1], bool(row[2])) for row in visits}
    for match in matches:
        latest, weekly = by_match.get(match.id, (None, False))
        ahead = weekly or (latest is not None and latest > now)
        quiet = Quiet(
            match.last_activity_at,
            match.introduced_at,
            match.created_at,
            latest if latest is not None and latest <= now else None,
            ahead,
            match.nudged_at is not None,
            match.escalated_at is not None,
        )
        action = verdict(quiet, now, silence)
        if action is not None:
            try:
                await _act(runtime, match.id, action, now)
            except Exception:
                log.exception("silence check failed", extra={"bot": "scheduler", "match": match.id})


async def _act(runtime: BotRuntime, match_id: int, action: str, now: datetime) -> None:
    async with runtime.db.session() as session:
        room = await visit_room_of_match(session, match_id)
    if room is None:
        return
    since = room.match.last_activity_at or room.match.introduced_at or room.match.created_at
    if action == NUDGE or room.match.nudged_at is None:
        lang = room.language(runtime.settings.language)
        await runtime.post(
            room.room_id,
            "silence_nudge.html",
            lang,
            txn=txn_id("silence-nudge", str(match_id), since.isoformat()),
            readers=None,
            mentions=room.mentions,
            people=[{"id": p.matrix_id, "name": first_name(p)} for p in room.people],
        )
        async with runtime.db.session() as session:
            row = await session.get(Match, match_id)
            if row is not None:
                row.nudged_at = now
    if action != RAISE or runtime.coordinators_room_id is None:
        return
    lang = runtime.settings.language
    values: dict[str, Any] = {
        "number": match_id,
        "a": first_name(room.a),
        "b": first_name(room.b),
        "days": (now - since).days,
    }
    body, _ = runtime.bot.messages.render("silence_raised.html", lang, **values)
    await runtime.post(
        runtime.coordinators_room_id,
        "silence_raised.html",
        lang,
        txn=txn_id("silence-raised", str(match_id), since.isoformat()),
        readers=None,
        subjects=[p.matrix_id for p in room.people],
        **values,
    )
    async with runtime.db.session() as session:
        row = await session.get(Match, match_id)
        if row is not None:
            row.escalated_at = now
        session.add(Concern(match_id=match_id, text=body, source="silence", created_at=now))
