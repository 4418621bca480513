"""The matching engine for a whole country: exact where it can be, and a proof where not.

Scoring every pair and solving on all of them does not reach a country (a billion
pairs); keeping each person's best few partners piles everyone onto the same
attractive volunteers. The engine instead *prices* volunteers:

1. Score every allowed pair once (:func:`bots.matchmaker.kernels.first_pass`),
   keeping each citizen's best few volunteers *and* each volunteer's best hundred
   citizens: the first graph. The volunteers' side is what makes the first prices
   good, because a popular volunteer's edges then reach everyone competing for them.
2. Solve the round exactly (OR-Tools' minimum-cost flow) on the graph.
3. Read each volunteer's price from that solution: the least prices that prove it
   optimal on its edges (:func:`bots.matchmaker.kernels.volunteer_prices`).
4. Bound the best total over *all* allowed pairs: by linear-programming duality,
   ``sum over citizens of max(0, best points less price) + sum over volunteers of
   capacity * price`` is never below the best possible total, whatever the prices.
   A citizen's best is read from the graph when no pair outside it can beat that:
   every pair left out of the first pass is below both the citizen's last kept
   partner and the volunteer's last kept citizen, and prices move by amounts we
   know (:func:`bots.matchmaker.kernels.outside_best`). Only the other citizens are
   scored again (:func:`bots.matchmaker.kernels.price_pass`), and their best
   price-adjusted volunteers join the graph.
5. Stop when the total is within ``tolerance`` of the bound; otherwise go to 2.

A pass that finds no pair better than the graph already holds proves the solution
optimal over all pairs (gap zero); on small rounds the engine runs to that point,
so it gives the same total as the exact engine it replaced.

Peers befriend each other, so their graph is not bipartite. The engine solves the
*doubled* bipartite round (each peer once on either side), whose optimum is at
least twice the best matching: half its bound bounds the peers' round. The doubled
solution falls apart into paths and cycles, and the best matching along each is
found exactly; only odd cycles cost anything, and the bound says how much.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numba
import numpy as np
from ortools.graph.python import min_cost_flow

from bots.matchmaker import kernels
from bots.matchmaker.encoded import I32, I64, EncodedPeople

FIRST_CANDIDATES = 12  # partners per person in the first graph
BACK_CANDIDATES = 100  # and people per partner
MORE_CANDIDATES = 12  # partners per person each pricing pass adds
MAX_PASSES = 12
BLOSSOM_PEERS = 150  # up to this many peers: Edmonds' exact algorithm on every pair


@dataclass
class Solution:
    """Pairs of rows of an :class:`EncodedPeople` and what is known about how good they are.

    ``bound`` is a proven upper bound (in points) on the best total over every pair
    that was allowed; ``total`` is what ``pairs`` reach. ``prices`` holds each
    partner row's price (points) from the last solve.
    """

    pairs: list[tuple[int, int]] = field(default_factory=list)
    points: list[int] = field(default_factory=list)
    bound: int = 0
    passes: int = 0
    edges: int = 0
    seconds: float = 0.0
    prices: dict[int, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # seconds, by stage
    rescored: list[int] = field(default_factory=list)  # people scored again, by pass
    trail: list[tuple[int, int]] = field(default_factory=list)  # (bound, total) by pass

    def timed(self, stage: str, since: float) -> float:
        """Add the time from ``since`` to ``stage``; the time now."""
        now = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + now - since
        return now

    @property
    def total(self) -> int:
        return sum(self.points)

    @property
    def ratio(self) -> float:
        """The total over the bound: 1.0 proves the round optimal."""
        return 1.0 if self.bound <= 0 else self.total / self.bound


@dataclass(frozen=True)
class _Side:
    """The partners' side sorted into blocks the kernel can skip whole."""

    rows: I32  # partner rows, block by block
    start: I64


def _blocks(people: EncodedPeople, rows: np.ndarray) -> _Side:
    order = np.lexsort((rows, people.area[rows], people.modes[rows], people.languages[rows]))
    sorted_rows = rows[order].astype(np.int32)
    key = np.stack(
        [
            people.languages[sorted_rows].astype(np.int64),
            people.modes[sorted_rows].astype(np.int64),
            people.area[sorted_rows].astype(np.int64),
        ],
        axis=1,
    )
    if len(sorted_rows):
        changes = np.flatnonzero(np.any(key[1:] != key[:-1], axis=1)) + 1
        start = np.concatenate([[0], changes, [len(sorted_rows)]]).astype(np.int64)
    else:
        start = np.zeros(1, dtype=np.int64)
    return _Side(rows=sorted_rows, start=start)


def _exclusions(
    a_rows: np.ndarray, side: _Side, excluded: Iterable[tuple[int, int]]
) -> tuple[I64, I32]:
    """Excluded partners per ``a`` (positions in ``side.rows``), as compressed rows."""
    a_position = {int(row): i for i, row in enumerate(a_rows)}
    b_position = {int(row): j for j, row in enumerate(side.rows)}
    found: list[tuple[int, int]] = []
    for a, b in excluded:
        for x, y in ((a, b), (b, a)):
            if x in a_position and y in b_position:
                found.append((a_position[x], b_position[y]))
    found.sort()
    start = np.zeros(len(a_rows) + 1, dtype=np.int64)
    for i, _ in found:
        start[i + 1] += 1
    start = np.cumsum(start).astype(np.int64)
    return start, np.array([j for _, j in found], dtype=np.int32)


def _graph_best(
    edge_a: np.ndarray, edge_b: np.ndarray, edge_points: np.ndarray, prices: np.ndarray, n_a: int
) -> np.ndarray:
    """Each ``a``'s best points less price over the graph's edges, at least 0.

    The edges come sorted by ``a`` (their keys are ``a * n_b + b``, kept sorted).
    """
    held = np.zeros(n_a, dtype=np.int64)
    if len(edge_a):
        starts = np.flatnonzero(np.diff(edge_a, prepend=-1))
        best = np.maximum.reduceat(edge_points - prices[edge_b], starts)
        held[edge_a[starts]] = np.maximum(best, 0)
    return held


def _solve_flow(
    edge_a: np.ndarray, edge_b: np.ndarray, edge_points: np.ndarray, capacity: np.ndarray, n_a: int
) -> np.ndarray:
    """Which edges are taken in a best b-matching (each ``a`` once, each ``b`` up to capacity)."""
    n_b = len(capacity)
    flow = int(min(n_a, int(capacity.sum())))
    if flow == 0 or len(edge_a) == 0:
        return np.zeros(len(edge_a), dtype=np.bool_)
    source, sink = 0, 1
    solver = min_cost_flow.SimpleMinCostFlow()
    b_nodes = 2 + np.arange(n_b, dtype=np.int64)
    a_nodes = 2 + n_b + np.arange(n_a, dtype=np.int64)
    solver.add_arcs_with_capacity_and_unit_cost(
        b_nodes[edge_b], a_nodes[edge_a], np.ones(len(edge_a), dtype=np.int64), -edge_points
    )
    solver.add_arcs_with_capacity_and_unit_cost(
        np.full(n_b, source, dtype=np.int64),
        b_nodes,
        capacity.astype(np.int64),
        np.zeros(n_b, dtype=np.int64),
    )
    solver.add_arcs_with_capacity_and_unit_cost(
        a_nodes,
        np.full(n_a, sink, dtype=np.int64),
        np.ones(n_a, dtype=np.int64),
        np.zeros(n_a, dtype=np.int64),
    )
    # Nobody is forced into a pair: flow may go straight to the sink for nothing.
    solver.add_arc_with_capacity_and_unit_cost(source, sink, flow, 0)
    solver.set_node_supply(source, flow)
    solver.set_node_supply(sink, -flow)
    status = solver.solve()
    if status != solver.OPTIMAL:
        raise RuntimeError(f"minimum-cost flow ended with status {status}")
    taken: np.ndarray = solver.flows(np.arange(len(edge_a), dtype=np.int64)) > 0
    return taken


def match_bipartite(
    people: EncodedPeople,
    a_rows: np.ndarray,
    b_rows: np.ndarray,
    capacity: np.ndarray,
    *,
    excluded: Iterable[tuple[int, int]] = (),
    min_score: float = 0.0,
    tolerance: float = 0.0,
    max_passes: int = MAX_PASSES,
) -> Solution:
    """The best pairs ``(a, b)``: each ``a`` at most once, each ``b`` up to ``capacity``.

    ``capacity`` is given per entry of ``b_rows``. ``excluded`` holds row pairs never to
    be proposed (either way round). Stops once the total is within ``tolerance``
    (0.001 is 0.1 %) of the proven bound, or is proven optimal.
    """
    started = time.perf_counter()
    a_rows = np.asarray(a_rows, dtype=np.int32)
    side = _blocks(people, np.asarray(b_rows, dtype=np.int32))
    capacity_by_row = dict(zip((int(r) for r in b_rows), (int(c) for c in capacity), strict=True))
    cap = np.array([capacity_by_row[int(row)] for row in side.rows], dtype=np.int64)
    n_a, n_b = len(a_rows), len(side.rows)
    solution = Solution()
    if n_a == 0 or n_b == 0 or cap.sum() == 0:
        return solution
    pa, pb, shared = people.side(a_rows), people.side(side.rows), people.shared()
    ex_start, ex = _exclusions(a_rows, side, excluded)
    clock = solution.timed("setup", started)
    prices = np.zeros(n_b, dtype=np.int64)
    history: list[np.ndarray] = []  # each pass's prices
    since = np.zeros(n_a, dtype=np.int64)  # the pass each citizen's threshold is from
    edge_keys = np.zeros(0, dtype=np.int64)
    edge_points = np.zeros(0, dtype=np.int64)
    edge_a = edge_b = np.zeros(0, dtype=np.int64)
    taken = np.zeros(0, dtype=np.bool_)
    total = 0
    for passes in range(1, max_passes + 1):
        history.append(prices)
        if passes == 1:
            # Every pair scored once, for both sides' best: the first graph.
            k = min(FIRST_CANDIDATES, n_b)
            top, top_points, best, threshold, back_rows, back_points, left_out = (
                kernels.first_pass(
                    pa, pb, shared, side.start, ex_start, ex, k,
                    min(BACK_CANDIDATES, n_a), min_score, numba.get_num_threads(),
                )
            )  # fmt: skip
            back = back_rows.ravel() >= 0
            more_keys = (
                back_rows.ravel().astype(np.int64) * n_b
                + np.repeat(np.arange(n_b, dtype=np.int64), back_rows.shape[1])
            )[back]
            more_points = back_points.ravel()[back]
        else:
            # Only citizens for whom a pair outside the graph might beat the graph's
            # best are scored again: for the rest the graph's best is their best.
            k = min(MORE_CANDIDATES, n_b)
            held = _graph_best(edge_a, edge_b, edge_points, prices, n_a)
            fallen = np.stack(
                [np.maximum.reduceat(old - prices, side.start[:-1]) for old in history[:-1]]
            )
            outside = kernels.outside_best(
                pa, pb, side.start, since, fallen, threshold,
                np.maximum.reduceat(left_out - prices, side.start[:-1]),
            )  # fmt: skip
            active = outside > held
            top, top_points, best, found = kernels.price_pass(
                pa, pb, shared, prices, side.start, ex_start, ex, k, min_score, active
            )
            best = np.where(active, best, held)
            since[active] = passes - 1
            threshold[active] = found[active]
            more_keys = more_points = np.zeros(0, dtype=np.int64)
        solution.rescored.append(n_a if passes == 1 else int(active.sum()))
        clock = solution.timed("first pass" if passes == 1 else "pricing", clock)
        bound = int(best.sum() + (cap * prices).sum())
        solution.bound = bound if passes == 1 else min(solution.bound, bound)
        solution.passes = passes
        solution.trail.append((bound, total))
        if passes > 1 and solution.bound - total <= tolerance * solution.bound:
            break
        filled = top >= 0
        new_keys = (np.repeat(np.arange(n_a, dtype=np.int64), k) * n_b + top.ravel())[
            filled.ravel()
        ]
        new_points = top_points.ravel()[filled.ravel()]
        keys = np.concatenate([edge_keys, new_keys, more_keys])
        points = np.concatenate([edge_points, new_points, more_points])
        keys, first = np.unique(keys, return_index=True)
        if len(keys) == len(edge_keys) and passes > 1:
            break  # nothing new: proven optimal (up to the last prices)
        edge_keys, edge_points = keys, points[first]
        edge_a, edge_b = edge_keys // n_b, edge_keys % n_b
        clock = solution.timed("graph", clock)
        taken = _solve_flow(edge_a, edge_b, edge_points, cap, n_a)
        clock = solution.timed("flow", clock)
        total = int(edge_points[taken].sum())
        matched_to = np.full(n_a, -1, dtype=np.int64)
        matched_points = np.zeros(n_a, dtype=np.int64)
        matched_to[edge_a[taken]] = edge_b[taken]
        matched_points[edge_a[taken]] = edge_points[taken]
        used = np.bincount(edge_b[taken], minlength=n_b)
        prices = kernels.volunteer_prices(
            edge_a, edge_b, edge_points, matched_to, matched_points, used < cap, n_b, n_b + 2
        )
        clock = solution.timed("prices", clock)
    solution.pairs = [
        (int(a_rows[a]), int(side.rows[b]))
        for a, b in zip(edge_a[taken], edge_b[taken], strict=True)
    ]
    solution.points = [int(x) for x in edge_points[taken]]
    solution.edges = len(edge_keys)
    solution.prices = {int(row): int(price) for row, price in zip(side.rows, prices, strict=True)}
    solution.bound = max(solution.bound, solution.total)
    solution.seconds = time.perf_counter() - started
    return solution


def _best_along(weights: list[int], cycle: bool) -> list[int]:
    """Indexes of the edges of a path (or cycle) that make the heaviest matching on it."""

    def path(ws: list[int]) -> list[int]:
        # take[i]: best using edges < i; classic no-two-adjacent choice.
        best = [0] * (len(ws) + 1)
        for i, w in enumerate(ws):
            best[i + 1] = max(best[i], (best[i - 1] if i >= 1 else 0) + w)
        chosen, i = [], len(ws)
        while i > 0:
            if best[i] == best[i - 1]:
                i -= 1
            else:
                chosen.append(i - 1)
                i -= 2
        return chosen[::-1]

    if not cycle:
        return path(weights)
    # A cycle: either its first edge is out (a path of the rest) or in (then both
    # neighbours of it are out).
    without_first = [i + 1 for i in path(weights[1:])]
    with_first = [0] + [i + 2 for i in path(weights[2:-1])] if len(weights) >= 3 else [0]
    value = sum(weights[i] for i in without_first), sum(weights[i] for i in with_first)
    return with_first if value[1] > value[0] else without_first


def match_peers(
    people: EncodedPeople,
    rows: np.ndarray,
    *,
    excluded: Iterable[tuple[int, int]] = (),
    min_score: float = 0.0,
    tolerance: float = 0.0,
) -> Solution:
    """The best pairs among peers (each in one pair at most), with a proven bound.

    Up to :data:`BLOSSOM_PEERS` peers: Edmonds' algorithm on every allowed pair
    (exact, as before). Beyond: the doubled bipartite round, rounded along its
    paths and cycles, then any two peers left over who may meet are paired.
    """
    started = time.perf_counter()
    rows = np.asarray(sorted(int(r) for r in rows), dtype=np.int32)
    excluded = list(excluded)
    if len(rows) < 2:
        return Solution()
    if len(rows) <= BLOSSOM_PEERS:
        solution = _blossom(people, rows, excluded, min_score)
        solution.seconds = time.perf_counter() - started
        return solution
    doubled = match_bipartite(
        people,
        rows,
        rows,
        np.ones(len(rows), dtype=np.int64),
        excluded=excluded,
        min_score=min_score,
        tolerance=tolerance / 2,
    )
    # Each peer has at most one arc out and one in: the arcs, taken without direction,
    # are paths and cycles (a pair chosen both ways round is a path of one edge).
    neighbours: dict[int, set[int]] = {}
    for a, b in doubled.pairs:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    chains: list[tuple[list[tuple[int, int]], bool]] = []
    seen: set[int] = set()
    ends = sorted(node for node, around in neighbours.items() if len(around) == 1)
    for start in [*ends, *sorted(neighbours)]:
        if start in seen:
            continue
        chain = [start]
        seen.add(start)
        while True:
            following = sorted(neighbours[chain[-1]] - seen)
            if not following:
                break
            chain.append(following[0])
            seen.add(following[0])
        is_cycle = len(chain) > 2 and chain[0] in neighbours[chain[-1]]
        links = [(chain[i], chain[i + 1]) for i in range(len(chain) - 1)]
        if is_cycle:
            links.append((chain[-1], chain[0]))
        chains.append((links, is_cycle))
    # Every link's points at once: one call, not one per chain.
    weights = iter(_points_of(people, [link for links, _ in chains for link in links], min_score))
    pairs: list[tuple[int, int]] = []
    for links, is_cycle in chains:
        chosen = _best_along([next(weights) for _ in links], is_cycle)
        pairs.extend(links[i] for i in chosen)
    # Peers the rounding left alone are paired among themselves where that is allowed.
    matched = {person for pair in pairs for person in pair}
    left = np.array(sorted({int(r) for r in rows} - matched), dtype=np.int32)
    if 2 <= len(left) < len(rows):
        pairs.extend(
            match_peers(
                people, left, excluded=excluded, min_score=min_score, tolerance=tolerance
            ).pairs
        )
    pairs = sorted((min(a, b), max(a, b)) for a, b in pairs)
    solution = Solution(
        pairs=pairs,
        points=_points_of(people, pairs, min_score),
        bound=doubled.bound // 2,
        passes=doubled.passes,
        edges=doubled.edges,
        prices=doubled.prices,
    )
    solution.bound = max(solution.bound, solution.total)
    solution.seconds = time.perf_counter() - started
    return solution


def _points_of(people: EncodedPeople, pairs: list[tuple[int, int]], min_score: float) -> list[int]:
    everyone = _everyone(people)
    a_list = np.array([a for a, _ in pairs], dtype=np.int32)
    b_list = np.array([b for _, b in pairs], dtype=np.int32)
    values = kernels.pair_points(everyone, everyone, people.shared(), a_list, b_list, min_score)
    return [int(v) for v in values]


_sides: dict[int, tuple[EncodedPeople, tuple[np.ndarray, ...]]] = {}


def _everyone(people: EncodedPeople) -> tuple[np.ndarray, ...]:
    """All of ``people`` as one side, made once per population (the last one is kept)."""
    kept = _sides.get(0)
    if kept is None or kept[0] is not people:
        kept = (people, people.side(np.arange(people.size, dtype=np.int32)))
        _sides[0] = kept
    return kept[1]


def _blossom(
    people: EncodedPeople, rows: np.ndarray, excluded: list[tuple[int, int]], min_score: float
) -> Solution:
    import networkx as nx

    n = len(rows)
    a_idx, b_idx = np.triu_indices(n, k=1)
    a_list, b_list = rows[a_idx].astype(np.int32), rows[b_idx].astype(np.int32)
    everyone = _everyone(people)
    values = kernels.pair_points(everyone, everyone, people.shared(), a_list, b_list, min_score)
    banned = {(min(a, b), max(a, b)) for a, b in excluded}
    graph = nx.Graph()
    for a, b, points in zip(a_list.tolist(), b_list.tolist(), values.tolist(), strict=True):
        if points > 0 and (a, b) not in banned:
            graph.add_edge(a, b, weight=points)
    chosen = sorted((min(a, b), max(a, b)) for a, b in nx.max_weight_matching(graph))
    points = [graph.edges[a, b]["weight"] for a, b in chosen]
    total = sum(points)
    return Solution(
        pairs=chosen, points=points, bound=total, passes=1, edges=graph.number_of_edges()
    )
