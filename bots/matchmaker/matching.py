"""A matching round: who may be matched now, the best pairs, stored as proposals.

A round only writes proposals; the running matchmaker delivers them (see
``proposals.py``). So a round from the command line (`connec match run`), from a
coordinator (`!kør-matching`) or from the bot's own schedule all work the same way,
and a crash never loses or doubles a proposal.

A round reads who is free, solves (:func:`bots.matchmaker.assignment.plan_round`)
outside any transaction, then stores its pairs in one transaction that first takes
the write lock and checks each pair again: whoever became busy, paused or excluded
meanwhile is left out, so a long round never doubles anyone's proposals. The bot
runs rounds in a worker process of its own (:class:`RoundWorker`), so it keeps
answering people during a round of a whole country; a person who becomes active in
between is placed at once against the last round's people (``placement.py``).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections import Counter
from collections.abc import Collection, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bots.matchmaker import jobs
from bots.matchmaker.assignment import Pair, RoundPlan, plan_round
from bots.matchmaker.placement import Snapshot
from bots.matchmaker.profiles import to_profile
from bots.matchmaker.reasons import reasons_as_json
from bots.matchmaker.scoring import InterestWeights, Profile, interest_weights
from connec.db import Database
from connec.models import AuditEntry, Match, Person, Proposal, real_person
from connec.people import MATCHABLE_ROLES
from connec.settings import Settings

log = logging.getLogger(__name__)

OPEN_PROPOSAL_STATES = ("suggested", "asked")
ENDED_PROPOSAL_STATES = ("declined", "expired", "cancelled", "rejected")
LIVE_MATCH_STATES = ("accepted", "room_created", "invited", "introduced", "paused")
# A round in the worker process hands back this many of its proposals (best first),
# enough for a coordinator's list; the rest are counted.
PROPOSALS_HANDED_BACK = 50


@dataclass
class RoundResult:
    """What a round did, and how good its pairs are (total and proven bound, in points)."""

    considered: int = 0
    proposals: list[Proposal] = field(default_factory=list)
    needs_approval: bool = True
    proposed: int = 0
    total: float = 0.0
    bound: float = 0.0
    seconds: float = 0.0

    @property
    def ratio(self) -> float:
        """The total over the proven bound; 1.0 is proven optimal."""
        return 1.0 if self.bound <= 0 else self.total / self.bound


@dataclass
class Availability:
    """Who is taken, from the stored proposals and matches: plain data."""

    taken: Counter[int]
    excluded: set[frozenset[int]]

    def busy(self, people: Iterable[Person]) -> set[int]:
        """Citizens and peers have one visiting friend and one proposal at a time."""
        return {p.id for p in people if p.role != "volunteer" and self.taken[p.id] > 0}

    def remaining(self, person: Person) -> int:
        return max(0, person.capacity - self.taken[person.id])


def _matchable() -> Any:
    return (
        Person.role.in_(MATCHABLE_ROLES),
        Person.state == "active",
        Person.profile_complete.is_(True),
        or_(Person.role != "volunteer", Person.approval == "approved"),
        real_person(),
    )


async def availability(session: AsyncSession, ids: Collection[int] | None = None) -> Availability:
    """Open proposals, live matches and ended pairs (of ``ids`` only, if given)."""

    def of(model: Any) -> Any:
        query = select(model.a_id, model.b_id, model.state)
        if ids is not None:
            query = query.where(or_(model.a_id.in_(ids), model.b_id.in_(ids)))
        return query

    taken: Counter[int] = Counter()
    excluded: set[frozenset[int]] = set()
    for a, b, state in (await session.execute(of(Proposal))).all():
        if state in OPEN_PROPOSAL_STATES:
            taken.update((a, b))
        elif state in ENDED_PROPOSAL_STATES:
            # Pairs once declined, left unanswered or turned down are never proposed again.
            excluded.add(frozenset((a, b)))
    for a, b, state in (await session.execute(of(Match))).all():
        excluded.add(frozenset((a, b)))
        if state in LIVE_MATCH_STATES:
            taken.update((a, b))
    return Availability(taken=taken, excluded=excluded)


@dataclass
class RoundInput:
    """Everything a round solves on, read from the database: plain data."""

    profiles: list[Profile]
    remaining: dict[int, int]
    excluded: set[frozenset[int]]
    busy: set[int]
    weights: InterestWeights


async def _read(session: AsyncSession) -> RoundInput:
    people = (await session.scalars(select(Person).where(*_matchable()))).all()
    state = await availability(session)
    profiles = [to_profile(person) for person in people]
    return RoundInput(
        profiles=profiles,
        remaining={p.id: state.remaining(p) for p in people if p.role == "volunteer"},
        excluded=state.excluded,
        busy=state.busy(people),
        # Rarity of interests is judged over everyone who may be matched.
        weights=interest_weights(profiles),
    )


def _solve(round_input: RoundInput, settings: Settings, now: datetime) -> RoundPlan:
    return plan_round(
        round_input.profiles,
        today_year=now.year,
        remaining_capacity=round_input.remaining,
        excluded_pairs=round_input.excluded,
        busy=round_input.busy,
        weights=round_input.weights,
        min_score=settings.matching.min_score,
    )


async def store_pairs(
    session: AsyncSession,
    settings: Settings,
    now: datetime,
    pairs: list[Pair],
    *,
    action: str,
    details: dict[str, object],
) -> list[Proposal]:
    """Proposals for ``pairs`` (best first) that still hold now, in this transaction.

    The audit line is written first, which takes the write lock, so what is read
    next cannot change before the proposals are stored.
    """
    audit = AuditEntry(actor="matchmaker", action=action, at=now, details=dict(details))
    session.add(audit)
    await session.flush()
    ids = {person for pair in pairs for person in (pair.a_id, pair.b_id)}
    people = {
        p.id: p
        for p in (await session.scalars(select(Person).where(Person.id.in_(ids), *_matchable())))
    }
    state = await availability(session, ids)
    rows: list[dict[str, object]] = []
    for pair in pairs:
        a, b = people.get(pair.a_id), people.get(pair.b_id)
        if a is None or b is None or frozenset((a.id, b.id)) in state.excluded:
            continue
        if any(state.taken[p.id] >= (p.capacity if p.role == "volunteer" else 1) for p in (a, b)):
            continue
        state.taken.update((a.id, b.id))
        rows.append(
            {
                "a_id": pair.a_id,
                "b_id": pair.b_id,
                "score": pair.score.value,
                "reasons": reasons_as_json(pair.score.reasons),
                "state": "suggested" if settings.matching.requires_approval else "asked",
                "source": "matching",
                "created_at": now,
                "asked_at": None if settings.matching.requires_approval else now,
            }
        )
    audit.details = {**audit.details, "proposed": len(rows)}
    if not rows:
        return []
    made = await session.scalars(insert(Proposal).returning(Proposal), rows)
    return sorted(made.all(), key=lambda p: (-p.score, p.a_id, p.b_id))


async def run_round(
    db: Database, settings: Settings, now: datetime, *, snapshot: list[Snapshot] | None = None
) -> RoundResult:
    """One round: read who is free, solve, store the pairs that still hold.

    With ``snapshot`` (a list), the round's coded people are appended to it for
    placing people one by one until the next round.
    """
    async with db.session() as session:
        round_input = await _read(session)
    plan = _solve(round_input, settings, now)
    async with db.session() as session:
        made = await store_pairs(
            session,
            settings,
            now,
            plan.pairs,
            action="matching_round",
            details={
                "considered": len(round_input.profiles),
                "total": round(plan.total, 3),
                "bound": round(plan.bound, 3),
            },
        )
    if snapshot is not None and plan.coded is not None:
        weights = round_input.weights
        # A plain dict rather than the read-only view: the snapshot crosses processes.
        portable = InterestWeights(population=weights.population, counts=dict(weights.counts))
        snapshot.append(
            Snapshot(coded=plan.coded, roles=plan.roles, weights=portable, taken_at=now)
        )
    return RoundResult(
        considered=len(round_input.profiles),
        proposals=made,
        needs_approval=settings.matching.requires_approval,
        proposed=len(made),
        total=plan.total,
        bound=plan.bound,
        seconds=plan.seconds,
    )


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
        f"{result.considered} people considered, {result.proposed} new proposals"
        + (
            " waiting for a coordinator's approval."
            if result.needs_approval and result.proposed
            else "."
        )
    )
    if result.bound:
        console.print(
            f"Total score {result.total:.1f}, {result.ratio:.4%} of the best possible "
            f"({result.bound:.1f}, proven), in {result.seconds:.1f} s."
        )


# The bot's side: rounds in a worker process, on a schedule and soon after someone new
# is ready; one person placed at once against the last round. ----------------------------

_ROUND_REQUESTED = "matching_round_requested"
_WORKER = "matching_round_worker"
_SNAPSHOT = "matching_snapshot"


def _round_in_worker(settings: Settings, now: datetime) -> tuple[RoundResult, Snapshot | None]:
    """In the worker process: a whole round against the database, as from the CLI."""
    return asyncio.run(_worker_round(settings, now))


async def _worker_round(settings: Settings, now: datetime) -> tuple[RoundResult, Snapshot | None]:
    db = Database(settings.db_url)
    kept: list[Snapshot] = []
    try:
        result = await run_round(db, settings, now, snapshot=kept)
    finally:
        await db.close()
    result.proposals = result.proposals[:PROPOSALS_HANDED_BACK]
    return result, (kept[0] if kept else None)


class RoundWorker:
    """A process of its own where the bot's rounds are solved, started on first use.

    Spawned (not forked: the bot runs threads and an event loop) and kept, so the
    compiled kernels load once; one round at a time.
    """

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    async def run_round(
        self, settings: Settings, now: datetime
    ) -> tuple[RoundResult, Snapshot | None]:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn")
            )
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, _round_in_worker, settings, now)

    def close(self) -> None:
        """Stop the worker; a round cut short stored nothing (one transaction)."""
        if self._pool is None:
            return
        # The executor's own processes, ended by their PID rather than awaited: a
        # round of a whole country must not hold up a bot that is stopping.
        for process in list(getattr(self._pool, "_processes", {}).values()):
            process.terminate()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = None


def _worker(runtime: Any) -> RoundWorker:
    worker = getattr(runtime, _WORKER, None)
    if worker is None:
        worker = RoundWorker()
        setattr(runtime, _WORKER, worker)
    return worker


def snapshot_of(runtime: Any) -> Snapshot | None:
    """The last round's coded people, if this bot has run a round since it started."""
    return getattr(runtime, _SNAPSHOT, None)


async def run_round_now(runtime: Any) -> RoundResult:
    """A round started by a coordinator or the schedule, in the worker process.

    The bot's event loop only waits; delivery is woken at once afterwards.
    """
    async with _round_lock(runtime):
        result, snapshot = await _worker(runtime).run_round(runtime.settings, runtime.clock.now())
    if snapshot is not None:
        setattr(runtime, _SNAPSHOT, snapshot)
    log.info(
        "matching round",
        extra={
            "bot": "matchmaker",
            "count": result.proposed,
            "ratio": round(result.ratio, 6),
            "seconds": round(result.seconds, 2),
        },
    )
    runtime.wake(jobs.PROPOSALS)
    return result


def _round_lock(runtime: Any) -> asyncio.Lock:
    lock = getattr(runtime, "matching_round_lock", None)
    if lock is None:
        lock = asyncio.Lock()
        runtime.matching_round_lock = lock
    return lock


def request_round(runtime: Any, *, person_ids: Iterable[int] = (), tell: bool = False) -> None:
    """Ask for a round soon; several asks make one round.

    ``person_ids`` (someone just became free) are placed at once against the last
    round, without waiting for it; with ``tell`` a person nobody fits hears that
    the matchmaker is still looking.
    """
    for person_id in person_ids:
        runtime.spawn(place(runtime, person_id, tell=tell), "placement")
    event = getattr(runtime, _ROUND_REQUESTED, None)
    if event is not None:
        event.set()


async def place(runtime: Any, person_id: int, *, tell: bool = False) -> list[Proposal]:
    """Propose the best free partner(s) to someone who just became free, at once.

    Scores them against the last round's people (:mod:`bots.matchmaker.placement`),
    then checks the best few against the database as it is now. Without a round
    since the bot started there is nothing to place against: the round that was
    asked for does it. With ``tell``, a person nobody fits hears that the search goes on.
    """
    from bots.common.runtime import txn_id
    from bots.matchmaker.placement import best_partners
    from bots.matchmaker.scoring import score

    snapshot = snapshot_of(runtime)
    if snapshot is None:
        return []
    settings, now = runtime.settings, runtime.clock.now()
    async with runtime.db.session() as session:
        person = await session.scalar(select(Person).where(Person.id == person_id, *_matchable()))
        if person is None:
            return []
        state = await availability(session, [person_id])
        if state.taken[person_id] >= (person.capacity if person.role == "volunteer" else 1):
            return []
    profile = to_profile(person)
    leave_out = {other for pair in state.excluded for other in pair}
    found = await asyncio.to_thread(
        best_partners,
        snapshot,
        profile,
        today_year=now.year,
        min_score=settings.matching.min_score,
        leave_out=leave_out,
    )
    pairs: list[Pair] = []
    if found:
        async with runtime.db.session() as session:
            others = {
                p.id: p
                for p in await session.scalars(
                    select(Person).where(Person.id.in_([pid for pid, _ in found]), *_matchable())
                )
            }
            busy = await availability(session, list(others))
        for other_id, _ in found:
            other = others.get(other_id)
            if other is None or busy.taken[other_id] >= (
                other.capacity if other.role == "volunteer" else 1
            ):
                continue
            # Scored again as they are now, with reasons, by the one scoring function.
            citizen_first = person.role != "volunteer"
            a, b = (profile, to_profile(other)) if citizen_first else (to_profile(other), profile)
            result = score(a, b, weights=snapshot.weights, today_year=now.year)
            if result is None or result.value <= settings.matching.min_score:
                continue
            if a.role == "peer" and a.person_id > b.person_id:
                a, b = b, a
                result = score(a, b, weights=snapshot.weights, today_year=now.year) or result
            pairs.append(Pair(a.person_id, b.person_id, result))
            room = person.capacity - state.taken[person_id] if person.role == "volunteer" else 1
            if len(pairs) >= room:
                break
    made: list[Proposal] = []
    if pairs:
        async with runtime.db.session() as session:
            made = await store_pairs(
                session, settings, now, pairs, action="matching_placement",
                details={"person_id": person_id},
            )  # fmt: skip
    if made:
        runtime.wake(jobs.PROPOSALS)
    elif tell:
        runtime.spawn(
            runtime.send_direct(
                person.matrix_id,
                "matching_still_looking.html",
                txn=txn_id("still-looking", str(person_id), now.isoformat()),
            ),
            "still looking",
        )
    log.info(
        "placement",
        extra={"bot": "matchmaker", "person": person_id, "count": len(made)},
    )
    return made


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
    runtime.on_wake(
        jobs.ROUND,
        lambda person_ids=(), tell=False: request_round(runtime, person_ids=person_ids, tell=tell),
    )
    runtime.spawn(_rounds(runtime), "matching rounds")


async def on_stop(runtime: Any) -> None:
    worker = getattr(runtime, _WORKER, None)
    if worker is not None:
        worker.close()
