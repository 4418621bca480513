"""The engine for big rounds: the same scores, the exact engine's totals, an honest bound."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import numpy as np
import pytest

from bots.matchmaker import engine, kernels
from bots.matchmaker.assignment import (
    assign_exact,
    match_citizens_to_volunteers,
    match_peers,
    plan_round,
)
from bots.matchmaker.encoded import SCALE, EncodedPeople, encode
from bots.matchmaker.population import population
from bots.matchmaker.scoring import (
    SLOTS,
    MatchPreferences,
    Profile,
    Role,
    interest_weights,
    score,
)
from connec.interests import interests_from_keys, understand_interests

YEAR = 2025
KEYS = ["jazz", "gardening", "knitting", "chess", "dogs", "beekeeping", "football", "baking"]
OWN_WORDS = ["Kim Larsen", "Morris Minor", "gamle radioer", "Tintin"]
PLACES = [("8000", "Aarhus"), ("8210", "aarhus"), ("2100", "København"), (None, None),
          ("SW1A 1AA", None), ("9000", "Aalborg")]  # fmt: skip


def anyone(rng: random.Random, person_id: int, role: Role) -> Profile:
    """Someone with a bit of everything scoring looks at, hard wishes included."""
    postcode, municipality = rng.choice(PLACES)
    words = ", ".join(rng.sample(OWN_WORDS, rng.randint(0, 2)))
    return Profile(
        person_id=person_id,
        role=role,
        birth_year=rng.choice([None, 1940, 1955, 1970, 1990, 2001]),
        gender=rng.choice([None, "female", "male", "Female"]),
        postcode=postcode,
        municipality=municipality,
        languages=frozenset(rng.sample(["da", "da", "da", "en", "ar", "tr"], rng.randint(1, 2))),
        interests=interests_from_keys(rng.sample(KEYS, rng.randint(0, 4)))
        | understand_interests(words),
        contact_modes=frozenset(rng.sample(["chat", "voice", "video"], rng.randint(1, 3))),
        availability=frozenset(rng.sample(SLOTS, rng.randint(0, 6))),
        prefs=MatchPreferences(
            partner_gender=rng.choice([None, None, None, "female", "male"]),
            age_min=rng.choice([None, None, None, 30, 60]),
            age_max=rng.choice([None, None, None, 50, 90]),
            near_me=rng.random() < 0.2,
        ),
        capacity=rng.randint(1, 3),
    )


def crowd(rng: random.Random, size: int) -> list[Profile]:
    roles: list[Role] = ["citizen", "citizen", "volunteer", "peer"]
    return [anyone(rng, person_id, rng.choice(roles)) for person_id in range(1, size + 1)]


# ---------------------------------------------------------------- the same scores


@pytest.mark.parametrize("seed", range(20))
def test_compiled_scoring_gives_every_pair_the_scoring_functions_value(seed: int) -> None:
    rng = random.Random(seed)
    people = crowd(rng, 30)
    weights = interest_weights(people)
    coded = encode(people, weights=weights, today_year=YEAR)
    everyone = coded.side(np.arange(coded.size, dtype=np.int32))
    a, b = (
        np.array(x, dtype=np.int32) for x in zip(*itertools.permutations(range(30), 2), strict=True)
    )
    values = kernels.pair_values(everyone, everyone, coded.shared(), a, b)
    for i, j, value in zip(a, b, values, strict=True):
        expected = score(people[i], people[j], weights=weights, today_year=YEAR)
        if expected is None:
            assert value == kernels.NONE, (people[i], people[j])
        else:
            assert value == pytest.approx(expected.value, abs=1e-9), (people[i], people[j])


# ---------------------------------------------------------------- the exact engine's totals


@pytest.mark.parametrize("seed", range(60))
def test_a_round_reaches_the_exact_engines_total(seed: int) -> None:
    rng = random.Random(seed)
    people = crowd(rng, rng.randint(2, 40))
    ids = [person.person_id for person in people]
    excluded = {frozenset(rng.sample(ids, 2)) for _ in range(rng.randint(0, 6))}
    busy = set(rng.sample(ids, rng.randint(0, 3)))
    remaining = {pid: rng.randint(0, 2) for pid in rng.sample(ids, len(ids) // 3)}
    min_score = rng.choice([0.0, 0.0, 1.0, 2.5])
    arguments = {
        "today_year": YEAR,
        "remaining_capacity": remaining,
        "excluded_pairs": excluded,
        "busy": busy,
        "min_score": min_score,
    }
    plan = plan_round(people, **arguments)  # type: ignore[arg-type]
    exact = assign_exact(people, **arguments)  # type: ignore[arg-type]

    assert sum(p.score.value for p in plan.pairs) == pytest.approx(
        sum(p.score.value for p in exact), abs=1e-5
    )
    assert plan.ratio == pytest.approx(1.0)
    by_id = {person.person_id: person for person in people}
    taken = Counter(person for pair in plan.pairs for person in (pair.a_id, pair.b_id))
    for pair in plan.pairs:
        assert frozenset((pair.a_id, pair.b_id)) not in excluded
        assert pair.score.value > min_score
        assert pair.score.reasons  # every pair keeps its reasons
    for person_id, count in taken.items():
        person = by_id[person_id]
        assert person_id not in busy
        limit = remaining.get(person_id, person.capacity) if person.role == "volunteer" else 1
        assert count <= limit


# ---------------------------------------------------------------- a bound that holds


def exact_total(people: list[Profile]) -> tuple[float, float]:
    """The best totals (citizens with volunteers, peers) over every allowed pair, by networkx."""
    weights = interest_weights(people)
    by_role: dict[str, list[Profile]] = {"citizen": [], "volunteer": [], "peer": []}
    for person in people:
        by_role[person.role].append(person)
    pairs = {}
    for a in by_role["citizen"]:
        for b in by_role["volunteer"]:
            if (found := score(a, b, weights=weights, today_year=YEAR)) and found.value > 0:
                pairs[(a.person_id, b.person_id)] = found.value
    capacity = {b.person_id: b.capacity for b in by_role["volunteer"]}
    bipartite = sum(pairs[p] for p in match_citizens_to_volunteers(pairs, capacity))
    peer_pairs = {}
    for a, b in itertools.combinations(by_role["peer"], 2):
        if (found := score(a, b, weights=weights, today_year=YEAR)) and found.value > 0:
            peer_pairs[(a.person_id, b.person_id)] = found.value
    peers = sum(peer_pairs[p] for p in match_peers(peer_pairs))
    return bipartite, peers


@pytest.fixture(scope="module")
def medium() -> tuple[list[Profile], float, float]:
    people = population(200, seed=7)  # 200 citizens, 60 volunteers, 20 peers
    return (people, *exact_total(people))


@pytest.mark.parametrize("passes", [1, 2, 3])
def test_the_bound_is_never_below_the_best_total_even_after_few_passes(
    medium: tuple[list[Profile], float, float], passes: int
) -> None:
    people, best, _ = medium
    coded = encode(people, weights=interest_weights(people), today_year=YEAR)
    citizens = np.array([i for i, p in enumerate(people) if p.role == "citizen"], dtype=np.int32)
    volunteers = np.array([i for i, p in enumerate(people) if p.role == "volunteer"], np.int32)
    capacity = np.array([people[i].capacity for i in volunteers], dtype=np.int64)
    solution = engine.match_bipartite(
        coded, citizens, volunteers, capacity, tolerance=0.5, max_passes=passes
    )
    assert solution.total / SCALE <= best + 1e-6
    assert solution.bound / SCALE >= best - 1e-6
    proven = engine.match_bipartite(coded, citizens, volunteers, capacity)
    assert proven.total / SCALE == pytest.approx(best, abs=1e-5)
    assert proven.ratio == 1.0


def sides(people: list[Profile]) -> tuple[EncodedPeople, np.ndarray, np.ndarray, np.ndarray]:
    coded = encode(people, weights=interest_weights(people), today_year=YEAR)
    citizens = np.array([i for i, p in enumerate(people) if p.role == "citizen"], dtype=np.int32)
    volunteers = np.array([i for i, p in enumerate(people) if p.role == "volunteer"], np.int32)
    capacity = np.array([people[i].capacity for i in volunteers], dtype=np.int64)
    return coded, citizens, volunteers, capacity


@pytest.mark.parametrize("chunks", [1, 2, 3, 7])
def test_the_first_pass_keeps_both_sides_best_and_bounds_what_it_left_out(
    medium: tuple[list[Profile], float, float], chunks: int
) -> None:
    people, _, _ = medium
    coded, citizens, volunteers, _ = sides(people)
    side = engine._blocks(coded, volunteers)
    pa, pb = coded.side(citizens), coded.side(side.rows)
    none_start, none = np.zeros(len(citizens) + 1, dtype=np.int64), np.zeros(0, dtype=np.int32)
    k, back = 3, 5
    found = kernels.first_pass(
        pa, pb, coded.shared(), side.start, none_start, none, k, back, 0.0, chunks
    )
    top, _, best, threshold, back_rows, back_points, left_out = found
    # Every pair by brute force: points (or -1 where not allowed).
    a_pos, b_pos = np.meshgrid(np.arange(len(citizens)), np.arange(len(side.rows)), indexing="ij")
    points = kernels.pair_points(
        pa, pb, coded.shared(), a_pos.ravel().astype(np.int32), b_pos.ravel().astype(np.int32), 0.0
    ).reshape(a_pos.shape)
    assert (best == np.maximum(points.max(axis=1), 0)).all()
    for i in range(len(citizens)):
        kept = set(top[i][top[i] >= 0].tolist())
        allowed = np.flatnonzero(points[i] > 0)
        assert len(kept) == min(k, len(allowed))
        for j in set(allowed.tolist()) - kept:
            assert points[i, j] <= threshold[i] and points[i, j] <= min(points[i, list(kept)])
    for j in range(len(side.rows)):
        kept_rows = [int(a) for a in back_rows[j] if a >= 0]
        allowed = np.flatnonzero(points[:, j] > 0)
        # The best `back` by points, then by row: the same however the work was split.
        expected = sorted(allowed.tolist(), key=lambda a: (-points[a, j], a))
        assert kept_rows == expected[:back]
        assert back_points[j][: len(kept_rows)].tolist() == [points[a, j] for a in kept_rows]
        assert left_out[j] == (points[expected[back], j] if len(expected) > back else kernels.FLOOR)


def test_citizens_the_graph_already_serves_are_not_scored_again_and_the_bound_holds(
    medium: tuple[list[Profile], float, float], monkeypatch: pytest.MonkeyPatch
) -> None:
    people, best, _ = medium
    coded, citizens, volunteers, capacity = sides(people)
    # Tiny candidate lists: many passes, each scoring only some citizens again.
    monkeypatch.setattr(engine, "FIRST_CANDIDATES", 1)
    monkeypatch.setattr(engine, "BACK_CANDIDATES", 1)
    monkeypatch.setattr(engine, "MORE_CANDIDATES", 1)
    solution = engine.match_bipartite(coded, citizens, volunteers, capacity, max_passes=40)
    assert solution.passes > 2
    assert any(0 < n < len(citizens) for n in solution.rescored[1:])
    for bound, _ in solution.trail:
        assert bound / SCALE >= best - 1e-6
    assert solution.total / SCALE == pytest.approx(best, abs=1e-5)
    assert solution.ratio == 1.0


def test_peers_beyond_the_exact_size_get_a_bound_that_holds(
    medium: tuple[list[Profile], float, float], monkeypatch: pytest.MonkeyPatch
) -> None:
    people, _, best = medium
    monkeypatch.setattr(engine, "BLOSSOM_PEERS", 0)
    plan = plan_round(people, today_year=YEAR, tolerance=0.0)
    assert plan.peers.total / SCALE <= best + 1e-6
    assert plan.peers.bound / SCALE >= best - 1e-6
    assert plan.peers.ratio >= 0.9
    matched = [person for pair in plan.peers.pairs for person in pair]
    assert len(matched) == len(set(matched))


@pytest.mark.parametrize("seed", range(40))
def test_the_best_matching_along_a_path_or_a_cycle(seed: int) -> None:
    rng = random.Random(seed)
    weights = [rng.randint(1, 9) for _ in range(rng.randint(1, 7))]
    cycle = len(weights) >= 3 and rng.random() < 0.5
    chosen = engine._best_along(weights, cycle)
    edges = len(weights)

    def adjacent(i: int, j: int) -> bool:
        return abs(i - j) == 1 or (cycle and {i, j} == {0, edges - 1})

    assert not any(adjacent(i, j) for i, j in itertools.combinations(chosen, 2))
    best = max(
        sum(weights[i] for i in subset)
        for size in range(edges + 1)
        for subset in itertools.combinations(range(edges), size)
        if not any(adjacent(i, j) for i, j in itertools.combinations(subset, 2))
    )
    assert sum(weights[i] for i in chosen) == best
