"""The scoring rules of :mod:`bots.matchmaker.scoring`, compiled, over coded people.

Every function here gives the same value as :func:`~bots.matchmaker.scoring.score`
for the same pair (the tests compare them pair by pair), but works on the arrays
of :mod:`bots.matchmaker.encoded` and runs without the GIL on every core. The
matching engine asks two things of them: the value of given pairs, and for each
person the best partners once each partner's *price* is taken off (pricing).

A side of a round is a tuple of arrays (:meth:`EncodedPeople.side`); the other side
is sorted into blocks of equal languages, contact modes and area, so that a person
skips at once every block that shares no language or mode with them, or lies
outside their area when they want someone near.
"""

from __future__ import annotations

from typing import Any, cast

import numba
import numpy as np
from numba.core import types
from numba.extending import intrinsic

from bots.matchmaker.encoded import DANISH_BIT, SCALE
from bots.matchmaker.scoring import (
    OTHER_LANGUAGE_WEIGHT,
    RELATED_GROUP_WEIGHT,
    SAME_MUNICIPALITY_WEIGHT,
    SHARED_SLOT_WEIGHT,
    SHARED_SLOTS_COUNTED,
)

NONE = -1.0  # the value of a pair a hard rule rules out
FLOOR = np.iinfo(np.int64).min // 4  # "no pair": far below any points, safe to add to
# Positions in a side's tuple (EncodedPeople.side); numba wants them as literals below.
# 0 keys, 1 groups, 2 stems, 3 stem_start, 4 stem_signature, 5 slots, 6 languages,
# 7 modes, 8 municipality, 9 area, 10 gender, 11 wanted_gender, 12 birth_year,
# 13 age_min, 14 age_max, 15 near_me, 16 picky, 17 person_ids.
# Shared tuple: 0 key_weight, 1 key_group, 2 stem_weight, 3 today_year.


def _popcount_intrinsic(typingctx: Any, x: Any) -> Any:
    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


def _lowest_bit_intrinsic(typingctx: Any, x: Any) -> Any:
    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.cttz(args[0], context.get_constant(types.boolean, True))

    return types.uint64(types.uint64), codegen


# The processor's own instructions for counting bits and finding the lowest one.
_popcount = cast(Any, intrinsic(_popcount_intrinsic))
_lowest_bit = cast(Any, intrinsic(_lowest_bit_intrinsic))


@numba.njit(inline="always", cache=True)
def _accepts(wisher: Any, w: int, other: Any, o: int, year: int) -> bool:
    wanted = wisher[11][w]
    if wanted >= 0 and other[10][o] != wanted:
        return False
    low = wisher[13][w]
    high = wisher[14][w]
    if low >= 0 or high >= 0:
        born = other[12][o]
        if born < 0:
            return False
        age = year - born
        if low >= 0 and age < low:
            return False
        if high >= 0 and age > high:
            return False
    if wisher[15][w]:
        area = wisher[9][w]
        if area < 0 or other[9][o] != area:
            return False
    return True


@numba.njit(inline="always", cache=True)
def _value_of_compatible(pa: Any, a: int, pb: Any, b: int, shared: Any) -> float:
    """The value of a pair known to share a language and a contact mode."""
    if (pa[16][a] or pb[16][b]) and not (
        _accepts(pa, a, pb, b, shared[3]) and _accepts(pb, b, pa, a, shared[3])
    ):
        return NONE
    keys_a, keys_b = pa[0], pb[0]
    total = 0.0
    shared_groups = np.uint64(0)
    for word in range(keys_a.shape[1]):
        both = keys_a[a, word] & keys_b[b, word]
        while both:
            code = word * 64 + _lowest_bit(both)
            total += shared[0][code]
            shared_groups |= shared[1][code]
            both &= both - np.uint64(1)
    if pa[4][a] & pb[4][b]:
        stems_a, stems_b = pa[2], pb[2]
        i, i_end = pa[3][a], pa[3][a + 1]
        j, j_end = pb[3][b], pb[3][b + 1]
        while i < i_end and j < j_end:
            if stems_a[i] == stems_b[j]:
                total += shared[2][stems_a[i]]
                i += 1
                j += 1
            elif stems_a[i] < stems_b[j]:
                i += 1
            else:
                j += 1
    related = pa[1][a] & pb[1][b] & ~shared_groups
    if related:
        total += RELATED_GROUP_WEIGHT * float(_popcount(related))
    slots = _popcount(pa[5][a] & pb[5][b])
    if slots:
        total += SHARED_SLOT_WEIGHT * float(min(slots, np.uint64(SHARED_SLOTS_COUNTED)))
    if (pa[6][a] & pb[6][b]) & ~np.uint64(DANISH_BIT):
        total += OTHER_LANGUAGE_WEIGHT
    if pa[8][a] >= 0 and pa[8][a] == pb[8][b]:
        total += SAME_MUNICIPALITY_WEIGHT
    return total


@numba.njit(inline="always", cache=True)
def _value(pa: Any, a: int, pb: Any, b: int, shared: Any) -> float:
    if (pa[6][a] & pb[6][b]) == 0 or (pa[7][a] & pb[7][b]) == 0:
        return NONE
    return _value_of_compatible(pa, a, pb, b, shared)


@numba.njit(inline="always", cache=True)
def _points(value: float, min_score: float) -> np.int64:
    if value <= min_score:
        return np.int64(-1)
    points = np.int64(np.rint(value * SCALE))
    return points if points > 0 else np.int64(-1)


@numba.njit(nogil=True, cache=True)
def pair_points(pa: Any, pb: Any, shared: Any, a_pos: Any, b_pos: Any, min_score: float) -> Any:
    """Points of each pair ``(a_pos[k], b_pos[k])``; -1 where it may not be proposed."""
    out = np.full(len(a_pos), -1, dtype=np.int64)
    for k in range(len(a_pos)):
        a, b = a_pos[k], b_pos[k]
        if pa[17][a] != pb[17][b]:
            out[k] = _points(_value(pa, a, pb, b, shared), min_score)
    return out


@numba.njit(nogil=True, cache=True)
def pair_values(pa: Any, pb: Any, shared: Any, a_pos: Any, b_pos: Any) -> Any:
    """The plain value of each pair, ``NONE`` where a hard rule rules it out."""
    out = np.full(len(a_pos), NONE, dtype=np.float64)
    for k in range(len(a_pos)):
        if pa[17][a_pos[k]] != pb[17][b_pos[k]]:
            out[k] = _value(pa, a_pos[k], pb, b_pos[k], shared)
    return out


@numba.njit(inline="always", cache=True)
def _is_excluded(excluded_start: Any, excluded: Any, i: int, j: int) -> bool:
    # A plain loop: numba compiles it, not a generator.
    for k in range(excluded_start[i], excluded_start[i + 1]):  # noqa: SIM110
        if excluded[k] == j:
            return True
    return False


@numba.njit(inline="always", cache=True)
def _block_fits(pa: Any, i: int, pb: Any, first: int) -> bool:
    """Whether ``a`` may meet the block of partners that starts at ``first``: a shared
    language and contact mode, and the same area when ``a`` wants someone near."""
    if (pb[6][first] & pa[6][i]) == 0 or (pb[7][first] & pa[7][i]) == 0:
        return False
    return not (pa[15][i] and pb[9][first] != pa[9][i])


@numba.njit(inline="always", cache=True)
def _ruled_out(
    pa: Any, i: int, pb: Any, j: int, excluded_start: Any, excluded: Any, has_exclusions: bool
) -> bool:
    """Whether a pair is never proposed: one person on both sides, or an excluded pair."""
    if pb[17][j] == pa[17][i]:
        return True
    return has_exclusions and _is_excluded(excluded_start, excluded, i, j)


@numba.njit(inline="always", cache=True)
def _insert(rows: Any, points: Any, kept: Any, row: int, value: Any, reduced: Any) -> None:
    """Put ``row`` into a best-first list of partners where its ``reduced`` value belongs."""
    at = len(kept) - 1
    while at > 0 and kept[at - 1] < reduced:
        kept[at] = kept[at - 1]
        rows[at] = rows[at - 1]
        points[at] = points[at - 1]
        at -= 1
    kept[at] = reduced
    rows[at] = row
    points[at] = value


@numba.njit(inline="always", cache=True)
def _replace_least(rows: Any, points: Any, row: int, value: Any) -> Any:
    """Put ``row`` in place of the least of a min-heap; the new least.

    Fewer points is less; among equal points the later row is less, so a heap
    keeps the same rows whatever order they came in.
    """
    size, at = len(points), 0
    while True:
        child = 2 * at + 1
        if child >= size:
            break
        other = child + 1
        if other < size and (
            points[other] < points[child]
            or (points[other] == points[child] and rows[other] > rows[child])
        ):
            child = other
        if points[child] > value or (points[child] == value and rows[child] < row):
            break
        points[at] = points[child]
        rows[at] = rows[child]
        at = child
    points[at] = value
    rows[at] = row
    return points[0]


@numba.njit(parallel=True, nogil=True, cache=True)
def price_pass(
    pa: Any,
    pb: Any,
    shared: Any,
    prices: Any,
    block_start: Any,
    excluded_start: Any,
    excluded: Any,
    k: int,
    min_score: float,
    active: Any,
) -> Any:
    """For each ``active`` ``a``: the ``k`` partners ``b`` with most points less ``prices[b]``.

    ``pb`` must be sorted into blocks (``block_start``) of equal languages, modes and
    area. Returns the partners (positions in ``pb``, -1 for none), their points, each
    ``a``'s best points less price (at least 0), which is what the bound needs, and a
    threshold no pair left out of its ``k`` exceeds (points less price; ``FLOOR`` when
    none was left out). Rows not ``active`` are left empty.
    """
    n = len(pa[17])
    top = np.full((n, k), -1, dtype=np.int32)
    top_points = np.zeros((n, k), dtype=np.int64)
    best = np.zeros(n, dtype=np.int64)
    threshold = np.full(n, FLOOR, dtype=np.int64)
    blocks = len(block_start) - 1
    for i in numba.prange(n):
        if not active[i]:
            continue
        reduced = np.full(k, FLOOR, dtype=np.int64)
        has_exclusions = excluded_start[i + 1] > excluded_start[i]
        row_best = np.int64(0)
        for block in range(blocks):
            first = block_start[block]
            if not _block_fits(pa, i, pb, first):
                continue
            for j in range(first, block_start[block + 1]):
                points = _points(_value_of_compatible(pa, i, pb, j, shared), min_score)
                r = points - prices[j]
                if points < 0 or r <= reduced[k - 1]:
                    continue
                if _ruled_out(pa, i, pb, j, excluded_start, excluded, has_exclusions):
                    continue
                row_best = max(row_best, r)
                _insert(top[i], top_points[i], reduced, j, points, r)
        best[i] = row_best
        threshold[i] = reduced[k - 1]
    return top, top_points, best, threshold


@numba.njit(parallel=True, nogil=True, cache=True)
def first_pass(
    pa: Any,
    pb: Any,
    shared: Any,
    block_start: Any,
    excluded_start: Any,
    excluded: Any,
    k: int,
    back: int,
    min_score: float,
    chunks: int,
) -> Any:
    """:func:`price_pass` with no prices, which also keeps each ``b``'s ``back`` best ``a``.

    Every pair is scored once for both lists. Keeping the partners' side too is what
    makes the first prices good: a popular partner's price is set by the people who
    compete for it, not only by those who happen to rank it first.

    Returns what :func:`price_pass` does, then for each ``b``: its best ``a`` rows
    (-1 for none) with their points, and a bound on the points of any pair of it
    left out of those (``FLOOR`` when none was).
    """
    n, n_b = len(pa[17]), len(pb[17])
    top = np.full((n, k), -1, dtype=np.int32)
    top_points = np.zeros((n, k), dtype=np.int64)
    best = np.zeros(n, dtype=np.int64)
    threshold = np.full(n, FLOOR, dtype=np.int64)
    # Each chunk of a's keeps the best ``back + 1`` of each b, merged at the end into
    # the best ``back`` and the best left out: the same whatever the number of
    # chunks. A list is a heap with its least at the root; ``cut`` repeats the roots
    # side by side, for a quick look.
    heap_rows = np.full((chunks, n_b, back + 1), -1, dtype=np.int32)
    heap_points = np.full((chunks, n_b, back + 1), FLOOR, dtype=np.int64)
    cut = np.full((chunks, n_b), FLOOR, dtype=np.int64)
    blocks = len(block_start) - 1
    size = (n + chunks - 1) // chunks
    for c in numba.prange(chunks):
        for i in range(c * size, min(n, (c + 1) * size)):
            reduced = np.full(k, FLOOR, dtype=np.int64)
            has_exclusions = excluded_start[i + 1] > excluded_start[i]
            row_best = np.int64(0)
            for block in range(blocks):
                first = block_start[block]
                if not _block_fits(pa, i, pb, first):
                    continue
                for j in range(first, block_start[block + 1]):
                    points = _points(_value_of_compatible(pa, i, pb, j, shared), min_score)
                    if points < 0 or (points <= reduced[k - 1] and points <= cut[c, j]):
                        continue
                    if _ruled_out(pa, i, pb, j, excluded_start, excluded, has_exclusions):
                        continue
                    row_best = max(row_best, points)
                    if points > reduced[k - 1]:
                        _insert(top[i], top_points[i], reduced, j, points, points)
                    if points > cut[c, j]:
                        cut[c, j] = _replace_least(heap_rows[c, j], heap_points[c, j], i, points)
            best[i] = row_best
            threshold[i] = reduced[k - 1]
    back_rows = np.full((n_b, back), -1, dtype=np.int32)
    back_points = np.zeros((n_b, back), dtype=np.int64)
    left_out = np.full(n_b, FLOOR, dtype=np.int64)
    for j in numba.prange(n_b):
        # Best first, then by row, so that equals fall the same way every time.
        merged_rows = heap_rows[:, j, :].ravel()
        merged_points = heap_points[:, j, :].ravel()
        by_row = np.argsort(merged_rows, kind="mergesort")
        order = by_row[np.argsort(-merged_points[by_row], kind="mergesort")]
        for taken, o in enumerate(order):
            if merged_rows[o] < 0:
                break  # the rest are empty places
            if taken == back:
                left_out[j] = merged_points[o]  # the best of those left out
                break
            back_rows[j, taken] = merged_rows[o]
            back_points[j, taken] = merged_points[o]
    return top, top_points, best, threshold, back_rows, back_points, left_out


@numba.njit(nogil=True, cache=True)
def volunteer_prices(
    edge_a: Any,
    edge_b: Any,
    edge_points: Any,
    matched_to: Any,
    matched_points: Any,
    has_room: Any,
    n_b: int,
    rounds: int,
) -> Any:
    """The least prices that prove a solution optimal on its edges (dual potentials).

    ``matched_to[a]`` is ``a``'s partner (or -1) with ``matched_points[a]``. A partner
    with room left is worth nothing; otherwise its price is the most any other
    ``a`` would gain by taking it: ``points(a, b) - (what a has now)``, where what
    ``a`` has now is its own pair's points less that partner's price. Found by
    relaxing the edges until nothing changes (a longest-path computation).
    """
    prices = np.zeros(n_b, dtype=np.int64)
    for _ in range(rounds):
        changed = False
        for e in range(len(edge_a)):
            a, b = edge_a[e], edge_b[e]
            if has_room[b]:
                continue
            m = matched_to[a]
            gain = max(np.int64(0), matched_points[a] - prices[m]) if m >= 0 else np.int64(0)
            want = edge_points[e] - gain
            if want > prices[b]:
                prices[b] = want
                changed = True
        if not changed:
            break
    return prices


@numba.njit(parallel=True, nogil=True, cache=True)
def outside_best(
    pa: Any, pb: Any, block_start: Any, since: Any, fallen: Any, threshold: Any, most: Any
) -> Any:
    """For each ``a``: a bound on its best pair *outside* the graph at today's prices.

    Two things bound such a pair (points less today's price). From ``a``'s side:
    ``threshold[i]`` bounded it at the prices of pass ``since[i]``, and
    ``fallen[s, block]`` is the most any partner of the block got cheaper since pass
    ``s``. From the partners' side: ``most[block]``, the most any partner of the
    block leaves outside the graph, less its price today.
    """
    n = len(pa[17])
    out = np.empty(n, dtype=np.int64)
    blocks = len(block_start) - 1
    for i in numba.prange(n):
        s = since[i]
        best = FLOOR
        for block in range(blocks):
            if not _block_fits(pa, i, pb, block_start[block]):
                continue
            here = min(threshold[i] + fallen[s, block], most[block])
            if here > best:
                best = here
        out[i] = best
    return out
