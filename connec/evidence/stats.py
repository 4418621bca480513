"""The report's statistics: paired change, bootstrap intervals, contact and waiting.

Pure: plain records in, numbers out; no database, no clock. Intervals come from a
seeded bootstrap over people, so the same data always gives the same report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Literal

import numpy as np

from connec.visits import VisitSeries, visits

UCLA_MIN, UCLA_MAX = 3, 9
"""The three-item UCLA loneliness scale's total: 3 (least lonely) to 9 (most lonely)."""

HORIZONS = (3, 6, 12)
"""Months after the first answer at which change is reported."""

WINDOWS: dict[int, tuple[int, int, int]] = {
    3: (45, 91, 135),
    6: (136, 182, 273),
    12: (274, 365, 455),
}
"""Per horizon, in days after the first answer: the earliest, the aim and the latest day
an answer counts. The scale is asked every 90 days, so each window holds about one."""

LEVEL = 0.95
MONTH = timedelta(days=365.25 / 12)
_CHUNK = 250_000  # bootstrap numbers drawn at once, to keep memory small


@dataclass(frozen=True)
class Answer:
    """One complete UCLA-3 answer: whose, when, and its total (3-9)."""

    person_id: int
    at: datetime
    total: int


@dataclass(frozen=True)
class Pair:
    """A person's first answer and the one that counts at a horizon."""

    person_id: int
    before: int
    after: int


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def pairs_at(answers: Iterable[Answer], months: int) -> list[Pair]:
    """Each person's first answer paired with their answer nearest ``months`` later.

    Only answers inside the horizon's window count (see ``WINDOWS``); a person with
    none there is left out of that horizon, never guessed.
    """
    earliest, aim, latest = WINDOWS[months]
    by_person: dict[int, list[Answer]] = defaultdict(list)
    for answer in answers:
        by_person[answer.person_id].append(answer)
    pairs = []
    for person_id in sorted(by_person):
        own = sorted(by_person[person_id], key=lambda a: a.at)
        first = own[0]
        best: tuple[float, Answer] | None = None
        for later in own[1:]:
            days = (later.at - first.at).total_seconds() / 86400
            if earliest <= days <= latest:
                distance = abs(days - aim)
                if best is None or distance < best[0]:
                    best = (distance, later)
        if best is not None:
            pairs.append(Pair(person_id, first.total, best[1].total))
    return pairs


def bootstrap(
    values: Sequence[float],
    statistic: Literal["mean", "sum"],
    *,
    resamples: int,
    seed: int,
    level: float = LEVEL,
) -> Interval | None:
    """A percentile bootstrap interval for the mean or sum of ``values`` (None if empty).

    People are drawn with replacement ``resamples`` times; the interval holds the
    middle ``level`` of the statistic over those draws.
    """
    data = np.asarray(values, dtype=float)
    n = len(data)
    if n == 0:
        return None
    rng = np.random.default_rng(seed)
    found = np.empty(resamples)
    step = max(1, _CHUNK // n)
    for start in range(0, resamples, step):
        rows = min(step, resamples - start)
        drawn = data[rng.integers(0, n, size=(rows, n))]
        found[start : start + rows] = drawn.sum(axis=1) if statistic == "sum" else drawn.mean(1)
    tail = (1 - level) / 2
    low, high = np.quantile(found, [tail, 1 - tail])
    return Interval(float(low), float(high))


@dataclass(frozen=True)
class Change:
    """Paired change in UCLA-3 at one horizon (negative: less lonely)."""

    months: int
    people: int
    before: float | None
    after: float | None
    change: float | None
    change_interval: Interval | None
    lonely_before: int
    moved_out: int
    """Lonely at the first answer, not lonely at this one."""
    moved_in: int
    """Not lonely at the first answer, lonely at this one."""
    net_interval: Interval | None
    """Bootstrap interval of ``moved_out - moved_in``."""

    @property
    def not_lonely_before(self) -> int:
        return self.people - self.lonely_before

    @property
    def net_out(self) -> int:
        return self.moved_out - self.moved_in


def change_at(
    pairs: Sequence[Pair], months: int, *, lonely_from: int, resamples: int, seed: int
) -> Change:
    """Mean paired change with its interval, and who crossed the loneliness cut-off."""
    n = len(pairs)
    differences = [p.after - p.before for p in pairs]
    crossings = [
        (p.before >= lonely_from and p.after < lonely_from)
        - (p.before < lonely_from and p.after >= lonely_from)
        for p in pairs
    ]
    seeded = seed * 100 + months  # each horizon draws its own, repeatable numbers
    return Change(
        months=months,
        people=n,
        before=sum(p.before for p in pairs) / n if n else None,
        after=sum(p.after for p in pairs) / n if n else None,
        change=sum(differences) / n if n else None,
        change_interval=bootstrap(differences, "mean", resamples=resamples, seed=seeded),
        lonely_before=sum(p.before >= lonely_from for p in pairs),
        moved_out=sum(c == 1 for c in crossings),
        moved_in=sum(c == -1 for c in crossings),
        net_interval=bootstrap(crossings, "sum", resamples=resamples, seed=seeded + 1),
    )


# --- Contact --------------------------------------------------------------------------


@dataclass(frozen=True)
class Friendship:
    """A pair with a visit room: when it began (the ice-breaker) and when it ended."""

    id: int
    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class Circle:
    """A circle with a room: when it was introduced, when it closed, and who is in it
    (the report's people who said yes and have not left)."""

    id: int
    started_at: datetime
    ended_at: datetime | None
    members: frozenset[int] = frozenset()


def friendship_months(friendships: Iterable[Friendship | Circle], now: datetime) -> float:
    """Months of friendship (or of circles) in all, each from its start to its end (or now)."""
    total = timedelta()
    for f in friendships:
        end = min(f.ended_at, now) if f.ended_at is not None else now
        if end > f.started_at:
            total += end - f.started_at
    return total / MONTH


def per_friendship_month(count: int, months: float) -> float | None:
    """A count per month of friendship (None when there has been none)."""
    return count / months if months > 0 else None


def gatherings_held(
    circles: Iterable[Circle], gatherings: Iterable[tuple[int, VisitSeries]], now: datetime
) -> int:
    """Gatherings held, counted as visits are (:func:`connec.visits.visits`), each
    circle's only up to its closing: closing a circle leaves its bookings as they were."""
    until = {c.id: min(c.ended_at, now) if c.ended_at is not None else now for c in circles}
    by_circle: dict[int, list[VisitSeries]] = defaultdict(list)
    for circle_id, series in gatherings:
        if circle_id in until:
            by_circle[circle_id].append(series)
    return sum(
        sum(1 for _ in visits(series, until[circle_id])) for circle_id, series in by_circle.items()
    )


@dataclass(frozen=True)
class Retention:
    """Of the friendships that began at least ``months`` ago, how many still lasted then."""

    months: int
    started: int
    lasted: int

    @property
    def ended(self) -> int:
        return self.started - self.lasted


def retention(friendships: Iterable[Friendship], months: int, now: datetime) -> Retention:
    """Friendships old enough to have reached ``months``, and how many did."""
    span = MONTH * months
    old_enough = [f for f in friendships if f.started_at + span <= now]
    lasted = [f for f in old_enough if f.ended_at is None or f.ended_at > f.started_at + span]
    return Retention(months, len(old_enough), len(lasted))


@dataclass(frozen=True)
class Wait:
    """How long people waited, in days: the median over ``people``."""

    people: int
    median_days: float | None


def waits(spans: Iterable[tuple[datetime, datetime]]) -> Wait:
    """The median of the waits from each start to its end (a negative one counts as 0)."""
    days = [max(0.0, (end - start).total_seconds() / 86400) for start, end in spans]
    return Wait(len(days), median(days) if days else None)
