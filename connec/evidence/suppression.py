"""Hiding small groups: no count of fewer than five people is shown or can be worked out.

A report's figures are cells (counts of people) tied together by sums: a total and
its parts, including parts nobody prints but anyone could work out ("enrolled but
never matched" is enrolled minus matched). First every count under the threshold
is hidden. Then, until nothing changes, more cells are hidden:

- where a sum has a hidden small count and a shown total, its hidden parts must
  together count at least the threshold (else the group itself is too small);
- no hidden small count may follow from the shown cells through the sums, alone or
  combined (worked out exactly, by Gaussian elimination).

Pure: keys and numbers in, the keys to hide out.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

THRESHOLD = 5
"""Fewer people than this are never shown, nor anything that reveals them."""

Key = Hashable


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

    The sums, restricted to the hidden cells, are brought to reduced row echelon form
    with exact fractions; a cell is fixed exactly when some row of that form holds it
    alone. Sparse and exact: no floating-point tolerance, and fast for report sizes.
    """
    unknown = set(hidden)
    rows: list[dict[Key, Fraction]] = []
    for s in sums:
        row: dict[Key, Fraction] = {}
        for sign, key in ((1, s.total), *((-1, p) for p in s.parts)):
            if key in unknown:
                row[key] = row.get(key, Fraction(0)) + sign
        row = {k: v for k, v in row.items() if v}
        if row:
            rows.append(row)
    pivots: dict[Key, dict[Key, Fraction]] = {}
    for row in rows:
        for pivot, pivot_row in pivots.items():
            factor = row.get(pivot)
            if factor:
                for k, v in pivot_row.items():
                    row[k] = row.get(k, Fraction(0)) - factor * v
                row = {k: v for k, v in row.items() if v}
        if not row:
            continue
        pivot = min(row, key=repr)
        scale = row[pivot]
        row = {k: v / scale for k, v in row.items()}
        for other in pivots.values():
            factor = other.get(pivot)
            if factor:
                for k, v in row.items():
                    other[k] = other.get(k, Fraction(0)) - factor * v
                for k in [k for k, v in other.items() if not v]:
                    del other[k]
        pivots[pivot] = row
    return {pivot for pivot, row in pivots.items() if len(row) == 1}


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

    changed = True
    while changed:
        changed = False
        for s in sums:
            if s.signed or s.total in hidden:
                continue
            hidden_parts = [p for p in s.parts if p in hidden]
            if any(small(p) for p in hidden_parts) and (
                sum(values[p] for p in hidden_parts) < threshold
            ):
                more = cheapest(s.parts) or cheapest([s.total])
                if more:
                    hidden.add(more[0])
                    changed = True
        if changed:
            continue
        exposed = sorted((k for k in determined(hidden, sums) if small(k)), key=repr)
        if not exposed:
            break
        target = exposed[0]
        nearby = {cell for s in sums if any(c in hidden for c in s.cells) for cell in s.cells}
        for candidate in cheapest(nearby):
            if target not in determined(hidden | {candidate}, sums):
                hidden.add(candidate)
                break
        else:
            options = cheapest(nearby)
            if not options:
                break  # nothing left to hide near it; real sums never get here
            hidden.add(options[0])
        changed = True
    return hidden
