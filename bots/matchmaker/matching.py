"""A matching round: who may be matched now, the best pairs, stored as proposals.

A round only writes proposals; the running matchmaker delivers them (see
``proposals.py``). So a round from the command line (`connec match run`), from a
coordinator (`!kør-matching`) or from the bot's own schedule all work the same way,
and a crash never loses or doubles a proposal.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bots.matchmaker.assignment import assign
from bots.matchmaker.profiles import to_profile
from bots.matchmaker.scoring import interest_weights
from connec.db import Database
from connec.models import AuditEntry, Match, Person, Proposal
from connec.people import MATCHABLE_ROLES
from connec.settings import Settings

log = logging.getLogger(__name__)

OPEN_PROPOSAL_STATES = ("suggested", "asked")
ENDED_PROPOSAL_STATES = ("declined", "expired", "cancelled", "rejected")
LIVE_MATCH_STATES = ("accepted", "room_created", "invited", "introduced", "paused")


@dataclass
class RoundResult:
    """What a round did."""

    considered: int = 0
    proposals: list[Proposal] = field(default_factory=list)
    needs_approval: bool = True


def reasons_as_json(reasons: Any) -> list[dict[str, object]]:
    return [{"kind": str(reason.kind), "data": list(reason.data)} for reason in reasons]


async def _round(session: AsyncSession, settings: Settings, now: datetime) -> RoundResult:
    people = (
        await session.scalars(
            select(Person).where(
                Person.role.in_(MATCHABLE_ROLES),
                Person.state == "active",
                Person.profile_complete.is_(True),
                or_(Person.role != "volunteer", Person.approval == "approved"),
            )
        )
    ).all()
    open_proposals = (
        await session.scalars(select(Proposal).where(Proposal.state.in_(OPEN_PROPOSAL_STATES)))
    ).all()
    matches = (await session.scalars(select(Match))).all()
    closed = (
        await session.scalars(select(Proposal).where(Proposal.state.in_(ENDED_PROPOSAL_STATES)))
    ).all()

    # Pairs once declined, left unanswered or ended are never proposed again.
    excluded = {frozenset((p.a_id, p.b_id)) for p in closed}
    excluded |= {frozenset((m.a_id, m.b_id)) for m in matches}
    live = [m for m in matches if m.state in LIVE_MATCH_STATES]
    taken: Counter[int] = Counter()
    for ids in [*((m.a_id, m.b_id) for m in live), *((p.a_id, p.b_id) for p in open_proposals)]:
        taken.update(ids)
    by_id = {person.id: person for person in people}
    # Citizens and peers have one visiting friend at a time and one proposal at a time;
    # volunteers as many as their capacity allows.
    busy = {pid for pid in taken if pid in by_id and by_id[pid].role != "volunteer"}
    remaining = {
        person.id: max(0, person.capacity - taken[person.id])
        for person in people
        if person.role == "volunteer"
    }
    profiles = {person.id: to_profile(person) for person in people}
    # Rarity of interests is judged over everyone who may be matched.
    weights = interest_weights(profiles.values())
    pairs = assign(
        profiles.values(),
        today_year=now.year,
        remaining_capacity=remaining,
        excluded_pairs=excluded,
        busy=busy,
        weights=weights,
        min_score=settings.matching.min_score,
    )
    result = RoundResult(considered=len(people), needs_approval=settings.matching.requires_approval)
    for pair in pairs:
        proposal = Proposal(
            a_id=pair.a_id,
            b_id=pair.b_id,
            score=pair.score.value,
            reasons=reasons_as_json(pair.score.reasons),
            state="suggested" if settings.matching.requires_approval else "asked",
            source="matching",
            created_at=now,
            asked_at=None if settings.matching.requires_approval else now,
        )
        session.add(proposal)
        result.proposals.append(proposal)
    session.add(
        AuditEntry(
            actor="matchmaker",
            action="matching_round",
            at=now,
            details={"considered": len(people), "proposed": len(pairs)},
        )
    )
    await session.flush()
    return result


async def run_round(db: Database, settings: Settings, now: datetime) -> RoundResult:
    """One round in one transaction: read who is free, store the best pairs."""
    async with db.session() as session:
        return await _round(session, settings, now)


async def run_round_from_cli(settings: Settings) -> RoundResult:
    """`connec match run`: a round now; the running matchmaker sends the proposals."""
    from connec.clock import SystemClock

    db = Database(settings.db_url)
    try:
        return await run_round(db, settings, SystemClock().now())
    finally:
        await db.close()


def print_round(result: RoundResult, console: Console) -> None:
    table = Table("proposal", "people", "score", title="Matching round")
    for proposal in result.proposals:
        table.add_row(
            str(proposal.id), f"{proposal.a_id} + {proposal.b_id}", f"{proposal.score:.2f}"
        )
    console.print(table)
    console.print(
        f"{result.considered} people considered, {len(result.proposals)} new proposals"
        + (
            " waiting for a coordinator's approval."
            if result.needs_approval and result.proposals
            else "."
        )
    )


# The bot's side: rounds on a schedule and soon after someone new is ready. ------------

_ROUND_REQUESTED = "matching_round_requested"


async def run_round_now(runtime: Any) -> RoundResult:
    """A round started by a coordinator or the schedule; delivery is woken at once."""
    from bots.matchmaker import proposals

    result = await run_round(runtime.db, runtime.settings, runtime.clock.now())
    log.info("matching round", extra={"bot": "matchmaker", "count": len(result.proposals)})
    proposals.wake(runtime)
    return result


def request_round(runtime: Any) -> None:
    """Ask for a round soon (someone became active); several asks make one round."""
    event = getattr(runtime, _ROUND_REQUESTED, None)
    if event is not None:
        event.set()


async def _rounds(runtime: Any) -> None:
    requested = asyncio.Event()
    setattr(runtime, _ROUND_REQUESTED, requested)
    every = runtime.settings.matching.every_minutes * 60
    soon = runtime.settings.matching.after_new_person_seconds
    while True:
        try:
            # asyncio.timeout: wait_for can swallow a cancellation in Python 3.11.
            async with asyncio.timeout(every):
                await requested.wait()
            await asyncio.sleep(soon)  # let a burst of changes settle into one round
        except TimeoutError:
            pass
        requested.clear()
        try:
            await run_round_now(runtime)
        except Exception:
            log.exception("matching round failed", extra={"bot": "matchmaker"})


async def on_start(runtime: Any) -> None:
    runtime.spawn(_rounds(runtime), "matching rounds")
