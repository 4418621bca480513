"""Who to propose to whom this round: a global, capacity-aware assignment.

Proposing pair by pair, best first, lets an early pair take a volunteer that two
later citizens needed. Instead the whole round is solved at once:

* citizens and volunteers: a maximum-weight bipartite *b-matching* (each volunteer
  takes up to their remaining capacity, each citizen at most one new proposal,
  nobody is forced);
* peer citizens, who befriend each other: a maximum-weight matching on a general
  graph.

:func:`plan_round` (and :func:`assign`, its pairs alone) does this with
:mod:`bots.matchmaker.engine`, which reaches a whole country and proves how good its
answer is; up to :data:`EXACT_PAIRS` possible pairs it runs until the answer is
proven optimal. :func:`assign_exact` is the engine it replaced, kept as the
reference the tests and ``connec bench match --compare`` measure against: every pair
scored in Python, then networkx's exact algorithms.

Scores are turned into integers (micro-points) before solving, because the exact
algorithms are only exact on integers; the result is optimal to within a millionth
of a point per pair.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from bots.matchmaker import engine
from bots.matchmaker.encoded import SCALE, EncodedPeople, encode
from bots.matchmaker.scoring import InterestWeights, Profile, Score, interest_weights, score

# Up to this many possible pairs a round is solved until proven optimal; beyond,
# until within TOLERANCE (peers: PEER_TOLERANCE) of the proven bound.
EXACT_PAIRS = 20_000_000
TOLERANCE = 0.001
PEER_TOLERANCE = 0.01
_SOURCE = ("source",)
_SINK = ("sink",)


@dataclass(frozen=True)
class Pair:
    """A pair to propose. ``a_id`` is the citizen (or the lower peer id)."""

    a_id: int
    b_id: int
    score: Score


def _points(value: float) -> int:
    return round(value * SCALE)


def match_citizens_to_volunteers(
    scores: Mapping[tuple[int, int], float], capacity: Mapping[int, int]
) -> list[tuple[int, int]]:
    """The (citizen, volunteer) pairs with the greatest total score.

    ``scores`` holds the allowed pairs only. Each volunteer gets at most
    ``capacity[volunteer]`` citizens (missing means none), each citizen at most one
    volunteer, and pairs worth nothing are left out. Sorted by (citizen, volunteer).
    """
    candidates: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for (citizen, volunteer), value in scores.items():
        if _points(value) > 0 and capacity.get(volunteer, 0) > 0:
            candidates[volunteer].append((-_points(value), citizen))
    if not candidates:
        return []
    volunteers = sorted(candidates)
    slots = sum(capacity[volunteer] for volunteer in volunteers)
    # At most `slots` citizens are matched, so each volunteer needs only their best
    # `slots` candidates: if an optimum used a worse one, one of the best would be
    # unmatched and could take that place for no less. Exact, and with a long
    # waiting list of citizens it shrinks the problem a great deal.
    edges = sorted(
        (citizen, volunteer, -negative)
        for volunteer in volunteers
        for negative, citizen in sorted(candidates[volunteer])[:slots]
    )
    citizens = sorted({citizen for citizen, _, _ in edges})

    # source -> volunteer (capacity) -> citizen (1) -> sink (1), plus a free bypass
    # from source to sink so that flow need not take a pair that is not worth it.
    flow = min(len(citizens), slots)
    graph = nx.DiGraph()
    graph.add_node(_SOURCE, demand=-flow)
    graph.add_node(_SINK, demand=flow)
    for volunteer in volunteers:
        graph.add_edge(_SOURCE, ("v", volunteer), capacity=capacity[volunteer], weight=0)
    for citizen in citizens:
        graph.add_edge(("c", citizen), _SINK, capacity=1, weight=0)
    for citizen, volunteer, points in edges:
        graph.add_edge(("v", volunteer), ("c", citizen), capacity=1, weight=-points)
    graph.add_edge(_SOURCE, _SINK, capacity=flow, weight=0)

    _, flows = nx.network_simplex(graph)
    return [
        (citizen, volunteer)
        for citizen, volunteer, _ in edges
        if flows[("v", volunteer)][("c", citizen)] > 0
    ]


def match_peers(scores: Mapping[tuple[int, int], float]) -> list[tuple[int, int]]:
    """The pairs of peers with the greatest total score, each person in one pair at most.

    ``scores`` holds the allowed pairs only, keyed either way round. Pairs worth
    nothing are left out. Each pair is (lower id, higher id), sorted.
    """
    edges = sorted(
        {
            (min(a, b), max(a, b)): _points(value)
            for (a, b), value in scores.items()
            if _points(value) > 0 and a != b
        }.items()
    )
    graph = nx.Graph()
    graph.add_nodes_from(sorted({person for (a, b), _ in edges for person in (a, b)}))
    for (a, b), points in edges:
        graph.add_edge(a, b, weight=points)
    return sorted((min(a, b), max(a, b)) for a, b in nx.max_weight_matching(graph))


@dataclass
class RoundPlan:
    """A round's pairs and how good they are: each part's total and proven bound."""

    pairs: list[Pair] = field(default_factory=list)
    volunteers: engine.Solution = field(default_factory=engine.Solution)
    peers: engine.Solution = field(default_factory=engine.Solution)
    seconds: float = 0.0
    # Who was free this round, coded, and their roles: for placing people one by one.
    coded: EncodedPeople | None = None
    roles: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype="<U9"))

    @property
    def total(self) -> float:
        return (self.volunteers.total + self.peers.total) / SCALE

    @property
    def bound(self) -> float:
        return (self.volunteers.bound + self.peers.bound) / SCALE

    @property
    def ratio(self) -> float:
        """The total over the proven bound (1.0: proven optimal)."""
        return 1.0 if self.bound <= 0 else self.total / self.bound


def plan_round(
    profiles: Iterable[Profile],
    *,
    today_year: int,
    remaining_capacity: Mapping[int, int] | None = None,
    excluded_pairs: Collection[frozenset[int]] = frozenset(),
    busy: Collection[int] = frozenset(),
    weights: InterestWeights | None = None,
    min_score: float = 0.0,
    tolerance: float | None = None,
) -> RoundPlan:
    """This round's proposals, with a proof of how good they are.

    - ``profiles``: everyone who may be matched. Citizens are paired with
      volunteers; peers ("peer") only with other peers.
    - ``remaining_capacity``: how many more matches each person can take, by
      person id; someone missing is taken at their ``Profile.capacity`` (no
      current matches). Citizens and peers get at most one proposal per round.
    - ``excluded_pairs``: pairs that declined or ended before; never proposed again.
    - ``busy``: people with an open proposal; left out of this round.
    - ``weights``: interest weights of the whole population; by default computed
      from ``profiles``.
    - ``min_score``: pairs must score more than this to be proposed.

    - ``tolerance``: stop within this share of the proven bound (0.001 is 0.1 %);
      by default 0 up to :data:`EXACT_PAIRS` possible pairs, else :data:`TOLERANCE`.

    The pairs come best first (then by ids); the same input gives the same output.
    """
    started = time.perf_counter()
    people = sorted(profiles, key=lambda profile: profile.person_id)
    if weights is None:
        weights = interest_weights(people)
    remaining = remaining_capacity or {}

    def free(profile: Profile) -> int:
        if profile.person_id in busy:
            return 0
        return max(0, remaining.get(profile.person_id, profile.capacity))

    available = [profile for profile in people if free(profile) > 0]
    coded = encode(available, weights=weights, today_year=today_year)
    row_of = coded.row_of()
    rows = {
        role: np.array([row for row, p in enumerate(available) if p.role == role], dtype=np.int32)
        for role in ("citizen", "volunteer", "peer")
    }
    excluded = [
        (row_of[a], row_of[b])
        for pair in excluded_pairs
        if len(pair) == 2
        for a, b in [sorted(pair)]
        if a in row_of and b in row_of
    ]
    citizens, volunteers, peers = rows["citizen"], rows["volunteer"], rows["peer"]

    def chosen_tolerance(possible: int, default: float) -> float:
        if tolerance is not None:
            return tolerance
        return 0.0 if possible <= EXACT_PAIRS else default

    plan = RoundPlan(coded=coded, roles=np.array([p.role for p in available], dtype="<U9"))
    plan.volunteers = engine.match_bipartite(
        coded,
        citizens,
        volunteers,
        np.array([free(available[row]) for row in volunteers], dtype=np.int64),
        excluded=excluded,
        min_score=min_score,
        tolerance=chosen_tolerance(len(citizens) * len(volunteers), TOLERANCE),
    )
    plan.peers = engine.match_peers(
        coded,
        peers,
        excluded=excluded,
        min_score=min_score,
        tolerance=chosen_tolerance(len(peers) ** 2, PEER_TOLERANCE),
    )
    found: list[Pair] = []
    for a_row, b_row in [*plan.volunteers.pairs, *plan.peers.pairs]:
        a, b = available[a_row], available[b_row]
        # The reasons in words come from the one scoring function, pair by pair.
        result = score(a, b, weights=weights, today_year=today_year)
        if result is not None:
            found.append(Pair(a.person_id, b.person_id, result))
    plan.pairs = sorted(found, key=lambda pair: (-pair.score.value, pair.a_id, pair.b_id))
    plan.seconds = time.perf_counter() - started
    return plan


def assign(
    profiles: Iterable[Profile],
    *,
    today_year: int,
    remaining_capacity: Mapping[int, int] | None = None,
    excluded_pairs: Collection[frozenset[int]] = frozenset(),
    busy: Collection[int] = frozenset(),
    weights: InterestWeights | None = None,
    min_score: float = 0.0,
) -> list[Pair]:
    """This round's proposals: the allowed pairs with the greatest total score.

    The pairs of :func:`plan_round`; the same arguments, best pair first.
    """
    return plan_round(
        profiles,
        today_year=today_year,
        remaining_capacity=remaining_capacity,
        excluded_pairs=excluded_pairs,
        busy=busy,
        weights=weights,
        min_score=min_score,
    ).pairs


def assign_exact(
    profiles: Iterable[Profile],
    *,
    today_year: int,
    remaining_capacity: Mapping[int, int] | None = None,
    excluded_pairs: Collection[frozenset[int]] = frozenset(),
    busy: Collection[int] = frozenset(),
    weights: InterestWeights | None = None,
    min_score: float = 0.0,
) -> list[Pair]:
    """The round as the engine before :func:`plan_round` solved it; exact, for small rounds.

    Every pair is scored in Python and solved with networkx. The tests and the
    benchmark compare :func:`assign` with it. Arguments as for :func:`plan_round`.
    """
    people = sorted(profiles, key=lambda profile: profile.person_id)
    if weights is None:
        weights = interest_weights(people)
    remaining = remaining_capacity or {}

    def free(profile: Profile) -> int:
        if profile.person_id in busy:
            return 0
        return max(0, remaining.get(profile.person_id, profile.capacity))

    available = [profile for profile in people if free(profile) > 0]
    citizens = [profile for profile in available if profile.role == "citizen"]
    volunteers = [profile for profile in available if profile.role == "volunteer"]
    peers = [profile for profile in available if profile.role == "peer"]

    scored: dict[tuple[int, int], Score] = {}

    def consider(a: Profile, b: Profile) -> None:
        if frozenset((a.person_id, b.person_id)) in excluded_pairs:
            return
        result = score(a, b, weights=weights, today_year=today_year)
        if result is not None and result.value > min_score:
            scored[(a.person_id, b.person_id)] = result

    for citizen in citizens:
        for volunteer in volunteers:
            consider(citizen, volunteer)
    volunteer_ids = {volunteer.person_id for volunteer in volunteers}
    chosen = match_citizens_to_volunteers(
        {pair: result.value for pair, result in scored.items() if pair[1] in volunteer_ids},
        {volunteer.person_id: free(volunteer) for volunteer in volunteers},
    )

    for index, a in enumerate(peers):
        for b in peers[index + 1 :]:
            consider(a, b)
    peer_ids = {peer.person_id for peer in peers}
    chosen += match_peers(
        {pair: result.value for pair, result in scored.items() if pair[0] in peer_ids}
    )

    pairs = [Pair(a, b, scored[(a, b)]) for a, b in chosen]
    return sorted(pairs, key=lambda pair: (-pair.score.value, pair.a_id, pair.b_id))
