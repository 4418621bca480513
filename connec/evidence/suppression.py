"""Hiding small groups: no count of fewer than five people is shown or can be worked out.

A report's figures are cells (counts of people) tied together by sums: a total and
its parts, including parts nobody prints but anyone could work out ("enrolled but
never matched" is enrolled minus matched). First every count under the threshold is
hidden, zero included ("nobody in the group" tells something of everyone in it). Then, until nothing changes, more cells are hidden:

- where a sum has a hidden small count and a shown total, its hidden parts must
  together count at least the threshold (else the group itself is too small);
- no hidden small count may follow from the shown cells through the sums, alone or
  combined (worked out by Gaussian elimination), nor be squeezed to a single
  value because counts are never negative (a linear program for each).

Pure: keys and numbers in, the keys to hide out.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

THRESHOLD = 5
"""Fewer people than this are never shown, nor anything that reveals them."""

Key = Hashable
_TINY = 1e-9


@dataclass(frozen=True)
class Sum:
    """``total`` equals the sum of ``parts``.

    ``signed``: a part may be negative (a net change), so the rule about the size of
    the hidden group does not apply to this sum.
    """

    total: Key
    parts: tuple[Key, ...]
    signed: bool = False

    @property
    def cells(self) -> tuple[Key, ...]:
        return (self.total, *self.parts)


def determined(hidden: Iterable[Key], sums: Sequence[Sum]) -> set[Key]:
    """The hidden cells whose value follows from the shown cells and the sums.

    The sums, restricted to the hidden cells, are brought to reduced row echelon form;
    a cell is fixed exactly when some row of that form holds it alone. The rows are
    sparse and their numbers small whole ones, so plain floats with a tolerance are
    exact enough and many times faster than fractions.
    """
    unknown = set(hidden)
    pivots: dict[Key, dict[Key, float]] = {}
    for s in sums:
        row: dict[Key, float] = {}
        for sign, key in ((1.0, s.total), *((-1.0, p) for p in s.parts)):
            if key in unknown:
                row[key] = row.get(key, 0.0) + sign
        for pivot, pivot_row in pivots.items():
            factor = row.get(pivot)
            if factor:
                for k, v in pivot_row.items():
                    row[k] = row.get(k, 0.0) - factor * v
        row = {k: v for k, v in row.items() if abs(v) > _TINY}
        if not row:
            continue
        pivot = min(row, key=repr)
        scale = row[pivot]
        row = {k: v / scale for k, v in row.items()}
        for other in pivots.values():
            factor = other.get(pivot)
            if factor:
                for k, v in row.items():
                    other[k] = other.get(k, 0.0) - factor * v
                for k in [k for k, v in other.items() if abs(v) <= _TINY]:
                    del other[k]
        pivots[pivot] = row
    return {pivot for pivot, row in pivots.items() if len(row) == 1}


def pinned(
    values: Mapping[Key, int],
    sums: Sequence[Sum],
    hidden: Iterable[Key],
    cells: Iterable[Key],
    *,
    signed: Iterable[Key] = (),
) -> set[Key]:
    """Those of ``cells`` (hidden) that the shown figures squeeze to less than one apart.

    Linear algebra misses what follows from counts never being negative (if a and b
    are hidden, a + b = 9 is known and a is at least 9, then b is 0); a linear
    program finds each cell's least and largest possible value.
    """
    unknown = sorted(set(hidden), key=repr)
    column = {key: i for i, key in enumerate(unknown)}
    rows, rhs = [], []
    for s in sums:
        row = np.zeros(len(unknown))
        constant = 0.0
        for sign, key in ((1.0, s.total), *((-1.0, p) for p in s.parts)):
            if key in column:
                row[column[key]] += sign
            else:
                constant -= sign * values[key]
        if row.any():
            rows.append(row)
            rhs.append(constant)
    if not rows:
        return set()
    free = set(signed)
    bounds = [(None, None) if key in free else (0, None) for key in unknown]
    found = set()
    matrix = np.array(rows)
    for key in cells:
        aim = np.zeros(len(unknown))
        aim[column[key]] = 1.0
        # The true value is always possible: one end a whole count away settles it.
        most = linprog(-aim, A_eq=matrix, b_eq=rhs, bounds=bounds)
        if most.status != 0 or -most.fun >= values[key] + 1 - 1e-9:
            continue
        least = linprog(aim, A_eq=matrix, b_eq=rhs, bounds=bounds)
        if least.status == 0 and least.fun > values[key] - 1 + 1e-9:
            found.add(key)
    return found


def suppress(
    values: Mapping[Key, int],
    sums: Sequence[Sum],
    *,
    virtual: Iterable[Key] = (),
    not_counts: Iterable[Key] = (),
    keep: Iterable[Key] = (),
    threshold: int = THRESHOLD,
) -> set[Key]:
    """The cells to hide (``virtual`` ones are never shown and always in the answer).

    Every key in ``values`` is a count of people unless named in ``not_counts`` (such as
    a net change, which may be negative and is hidden only to protect others). Cells
    in ``keep`` are hidden to protect others only when nothing else will do.
    """
    never = set(virtual)
    plain = set(not_counts)
    precious = set(keep)

    def small(key: Key) -> bool:
        # Zero too: "nobody in this group" says something about everyone in it.
        return key not in plain and values[key] < threshold

    hidden = never | {key for key in values if small(key)}
    totals_of: dict[Key, int] = {}
    for s in sums:
        totals_of[s.total] = totals_of.get(s.total, 0) + 1

    def cheapest(keys: Iterable[Key]) -> list[Key]:
        """Shown cells, cheapest to hide first: parts before totals, small before large."""
        return sorted(
            (k for k in set(keys) if k not in hidden),
            key=lambda k: (k in precious, totals_of.get(k, 0), values[k], repr(k)),
        )

    def unpin(target: Key) -> bool:
        """Hide one more shown cell so that ``target`` no longer follows from the rest."""
        nearby = {cell for s in sums if any(c in hidden for c in s.cells) for cell in s.cells}
        options = cheapest(nearby)
        for candidate in options:
            if target not in determined(hidden | {candidate}, sums):
                hidden.add(candidate)
                return True
        if not options:
            return False  # nothing left to hide near it; real sums never get here
        hidden.add(options[0])
        return True

    while True:
        known = determined(hidden, sums)
        # A group of hidden parts whose sum is known (a shown total, or one that
        # follows from shown cells) must itself hold enough people.
        small_group = None
        for s in sums:
            if s.signed or (s.total in hidden and s.total not in known):
                continue
            unknown = [p for p in s.parts if p in hidden and p not in known]
            if any(small(p) for p in unknown) and sum(values[p] for p in unknown) < threshold:
                small_group = s
                break
        if small_group is not None:
            more = cheapest(small_group.parts)
            if more:
                hidden.add(more[0])
                continue
            # Every part is hidden, but some follow from elsewhere: free the largest.
            fixed = sorted((p for p in small_group.parts if p in known), key=lambda p: -values[p])
            if fixed and unpin(fixed[0]):
                continue
            if small_group.total not in hidden:
                hidden.add(small_group.total)
                continue
            if unpin(small_group.total):
                continue
            break
        exposed = sorted((k for k in known if small(k)), key=repr)
        if exposed:
            if unpin(exposed[0]):
                continue
            break
        squeezed = pinned(
            values, sums, hidden, sorted((k for k in hidden if small(k)), key=repr), signed=plain
        )
        if not squeezed:
            break
        extra: set[Key] = set()
        for target in sorted(squeezed, key=repr):
            beside = {c for s in sums if target in s.cells for c in s.cells}
            options = cheapest(beside - extra) or cheapest(
                {c for s in sums if any(h in hidden for h in s.cells) for c in s.cells} - extra
            )
            if options:
                extra.add(options[0])
        if not extra:
            break
        hidden |= extra
    return hidden
