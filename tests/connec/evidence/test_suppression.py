"""Hiding small groups: no count under five is shown, nor can one be worked out.

The attacker here knows every shown cell and every sum, and asks a linear program for
the smallest and largest value each hidden cell could have (counts are never
negative). A hidden count under five must not be pinned to one value, and a shown
total's hidden parts must hold at least five people between them.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Mapping, Sequence

import pytest
from scipy.optimize import linprog

from connec.evidence.suppression import THRESHOLD, Sum, determined, suppress


def feasible_range(
    key: Hashable,
    values: Mapping[Hashable, int],
    sums: Sequence[Sum],
    hidden: set[Hashable],
    signed: frozenset[Hashable] = frozenset(),
) -> tuple[float, float]:
    """The least and most a hidden cell can be, given the shown cells and the sums."""
    unknown = sorted(hidden, key=repr)
    column = {k: i for i, k in enumerate(unknown)}
    rows, rhs = [], []
    for s in sums:
        row = [0.0] * len(unknown)
        constant = 0.0
        for sign, cell in ((1, s.total), *((-1, p) for p in s.parts)):
            if cell in column:
                row[column[cell]] += sign
            else:
                constant -= sign * values[cell]
        if any(row):
            rows.append(row)
            rhs.append(constant)
    bounds = [(None, None) if k in signed else (0, None) for k in unknown]
    target = [0.0] * len(unknown)
    target[column[key]] = 1.0
    low = linprog(target, A_eq=rows or None, b_eq=rhs or None, bounds=bounds)
    high = linprog([-t for t in target], A_eq=rows or None, b_eq=rhs or None, bounds=bounds)
    assert low.status in (0, 3) and high.status in (0, 3)
    return (
        low.fun if low.status == 0 else float("-inf"),
        -high.fun if high.status == 0 else float("inf"),
    )


def assert_nothing_small_derivable(values, sums, hidden, signed=frozenset()) -> None:
    for key in hidden:
        if key in signed or values[key] >= THRESHOLD:
            continue
        low, high = feasible_range(key, values, sums, hidden, signed)
        assert high - low >= 1 - 1e-9, f"{key} = {values[key]} is pinned to [{low}, {high}]"
    for s in sums:
        if s.signed or s.total in hidden:
            continue
        parts = [p for p in s.parts if p in hidden]
        if any(values[p] < THRESHOLD for p in parts):
            assert sum(values[p] for p in parts) >= THRESHOLD, (s, parts)


def test_a_small_cell_and_one_more_are_hidden_so_the_total_gives_nothing_away() -> None:
    values = {"all": 25, "a": 10, "b": 3, "c": 12}
    sums = [Sum("all", ("a", "b", "c"))]
    hidden = suppress(values, sums)
    # b is small; with b alone hidden, b = 25 - 10 - 12. The next smallest goes too.
    assert hidden == {"b", "a"}
    assert_nothing_small_derivable(values, sums, hidden)


def test_two_small_cells_that_together_are_still_small_take_a_third_with_them() -> None:
    values = {"all": 53, "a": 2, "b": 1, "c": 20, "d": 30}
    sums = [Sum("all", ("a", "b", "c", "d"))]
    hidden = suppress(values, sums)
    # a + b = 3 would be known from the total: a group of three.
    assert hidden == {"a", "b", "c"}
    assert_nothing_small_derivable(values, sums, hidden)


def test_zero_is_small_too() -> None:
    values = {"all": 30, "a": 0, "b": 30}
    assert suppress(values, [Sum("all", ("a", "b"))]) == {"a", "b"}


def test_nothing_is_hidden_when_every_group_is_big_enough() -> None:
    values = {"all": 30, "a": 10, "b": 20}
    assert suppress(values, [Sum("all", ("a", "b"))]) == set()


def test_a_part_nobody_prints_but_anyone_could_work_out_is_protected() -> None:
    # 40 signed up, 38 got a friend: "2 never did" is a small group, though never shown.
    values = {"enrolled": 40, "matched": 38, "never": 2}
    sums = [Sum("enrolled", ("matched", "never"))]
    hidden = suppress(values, sums, virtual={"never"})
    assert "never" in hidden and "matched" in hidden and "enrolled" not in hidden


def test_a_hidden_cell_cannot_be_worked_out_through_a_chain_of_sums() -> None:
    # Rows of a table and their total row; each row splits into matched / never.
    values = {
        "all": 60, "all-m": 50, "all-n": 10,
        "r1": 20, "r1-m": 17, "r1-n": 3,
        "r2": 20, "r2-m": 16, "r2-n": 4,
        "r3": 20, "r3-m": 17, "r3-n": 3,
    }  # fmt: skip
    sums = [
        Sum("all", ("r1", "r2", "r3")),
        Sum("all-m", ("r1-m", "r2-m", "r3-m")),
        Sum("all-n", ("r1-n", "r2-n", "r3-n")),
        *(Sum(r, (f"{r}-m", f"{r}-n")) for r in ("all", "r1", "r2", "r3")),
    ]
    virtual = {"all-n", "r1-n", "r2-n", "r3-n"}
    hidden = suppress(values, sums, virtual=virtual)
    assert_nothing_small_derivable(values, sums, hidden)
    assert not hidden & {"all", "r1", "r2", "r3"}  # totals are hidden last


def test_a_small_cell_squeezed_between_bounds_is_freed() -> None:
    """No sum fixes x, but counts are never negative: y = 7 + w says x is at most 3,
    and z = 5 - t with x + z = 8 says it is at least 3."""
    values = {"T1": 10, "x": 3, "y": 7, "a": 7, "w": 0, "T2": 8, "z": 5, "T3": 5, "t": 0}
    sums = [
        Sum("T1", ("x", "y")),
        Sum("y", ("a", "w")),
        Sum("T2", ("x", "z")),
        Sum("T3", ("z", "t")),
    ]
    virtual = {"w", "t"}
    # Hiding only what the sums give away leaves x pinned to 3 ...
    assert "x" not in determined({"x", "y", "z", *virtual}, sums)
    assert feasible_range("x", values, sums, {"x", "y", "z", *virtual}) == (3, 3)
    # ... so one more cell goes.
    hidden = suppress(values, sums, virtual=virtual)
    assert_nothing_small_derivable(values, sums, hidden)


def test_determined_sees_what_two_sums_reveal_together() -> None:
    # x + y = shown and x - y = shown: both are fixed, though each sum has two unknowns.
    sums = [Sum("s", ("x", "y")), Sum("x", ("d", "y"), signed=True)]
    assert determined({"x", "y"}, sums) == {"x", "y"}
    assert determined({"x", "y", "d"}, sums) == set()


@pytest.mark.parametrize("seed", range(40))
def test_random_tables_never_give_a_small_group_away(seed: int) -> None:
    """Tables shaped like the report's: groups of a few kinds, a total, and the parts
    nobody prints; random sizes, many of them small."""
    rng = random.Random(seed)
    people = rng.randint(5, 60)
    values: dict[Hashable, int] = {}
    sums: list[Sum] = []
    virtual: set[Hashable] = set()

    def split(total: int, parts: int) -> list[int]:
        cuts = sorted(rng.randint(0, total) for _ in range(parts - 1))
        return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]

    values["all"] = people
    values["all-m"] = matched = rng.randint(0, people)
    values["all-n"] = people - matched
    virtual.add("all-n")
    sums.append(Sum("all", ("all-m", "all-n")))
    for kind in ("q", "r"):
        groups = rng.randint(2, 5)
        sizes, fits = split(people, groups), split(matched, groups)
        # The matched of a group cannot outnumber its people: rebalance simply.
        fits = [min(f, s) for f, s in zip(fits, sizes, strict=True)]
        spare = matched - sum(fits)
        for i in range(groups):
            room = sizes[i] - fits[i]
            take = min(room, spare)
            fits[i] += take
            spare -= take
        names = [f"{kind}{i}" for i in range(groups)]
        for name, size, fit in zip(names, sizes, fits, strict=True):
            values[name], values[f"{name}-m"], values[f"{name}-n"] = size, fit, size - fit
            virtual.add(f"{name}-n")
            sums.append(Sum(name, (f"{name}-m", f"{name}-n")))
        sums.append(Sum("all", tuple(names)))
        sums.append(Sum("all-m", tuple(f"{n}-m" for n in names)))
        sums.append(Sum("all-n", tuple(f"{n}-n" for n in names)))
    hidden = suppress(values, sums, virtual=virtual)
    assert virtual <= hidden
    assert all(values[k] >= THRESHOLD for k in values if k not in hidden)
    assert_nothing_small_derivable(values, sums, hidden)
