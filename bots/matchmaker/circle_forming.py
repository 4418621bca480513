"""Forming circles: who could share a small interest group with which host, as plain functions.

A circle is a host and 2-7 members (3-8 people) around the host's topic, in one
language, at one weekly time all of them have. Forming proposes circles from
people waiting for a friend or who asked for a group, and hosts who offered a
topic. The objective (docs/circles.md says it in words):

    maximise   sum over placed members m in circle c of  PLACED + points(m, c)
    subject to each member in at most one circle,
               each host leading at most ``capacity`` circles (one slot each),
               each opened circle holding MIN_MEMBERS..MAX_MEMBERS members,
               a member only where they fit: the circle's language is theirs,
               they share the topic (taxonomy or own words, as matching reads
               them), a contact mode with the host, and the circle's time slot
               (someone who gave no times fits any).

``PLACED`` outweighs every difference in fit: first nobody waits alone, then the
best fit. ``points`` is the matchmaker's own pair score (:func:`scoring.score`),
of the member against the host with the topic as the host's interests: the
same interest weights (rare shared interests count most), shared times, language
and municipality. Matching's hard wishes about a partner's age and gender are
about one-to-one friends, not about who else is in a group, so they are left out.

Solved in two steps that scale: each member keeps only their ``TOP`` best
fitting circles (a sparse model), a greedy pass opens the fullest circles first
(a good answer at once), and OR-Tools CP-SAT improves it within a time limit,
starting from the greedy answer. The greedy answer stands if CP-SAT finds none
better in time.
"""

from __future__ import annotations

import heapq
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from ortools.sat.python import cp_model

from bots.matchmaker.scoring import (
    InterestWeights,
    MatchPreferences,
    Profile,
    Reason,
    ReasonKind,
    score,
)
from connec.interests import InterestSet, interest

MIN_MEMBERS = 2  # besides the host: a circle of three
MAX_MEMBERS = 7  # besides the host: a circle of eight
TOP = 8  # the circles each member may be put in, best first
SCORED = 6  # the hosts each member is fully scored against, after a cheap first look
LOOKED = 32  # the hosts of one topic given that cheap first look, per member
PLACED = 1000  # points for placing someone at all; a fit adds at most a few hundred
TIME_LIMIT_S = 20.0
MIN_SOLVE_S = 2.0  # less than this left in the budget: the greedy answer stands
TOPIC_KINDS = (ReasonKind.SHARED_INTERESTS, ReasonKind.SHARED_PERSONAL_INTERESTS)
NO_PREFS = MatchPreferences()


@dataclass(frozen=True)
class Host:
    """Someone who leads circles: their profile, the topic and language they offer."""

    profile: Profile
    topic: InterestSet
    topic_name: str
    language: str = "da"
    capacity: int = 1


@dataclass(frozen=True)
class Option:
    """One circle a host could open: at one weekly slot (None: the host gave no times)."""

    host_index: int
    slot: str | None


@dataclass(frozen=True)
class FormedCircle:
    """A circle to propose: its host, members (best fit first), language, slot and why."""

    host_id: int
    member_ids: tuple[int, ...]
    topic_name: str
    language: str
    slot: str | None
    value: float
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class Forming:
    """What a forming round found, and how (for the benchmark and the coordinators)."""

    circles: tuple[FormedCircle, ...]
    placed: int
    candidates: int
    greedy_objective: int
    objective: int
    solver: str  # "cp-sat" (improved or proved), "greedy" (CP-SAT found nothing better)
    greedy_seconds: float = 0.0  # candidates and the greedy answer, before CP-SAT


def topic_features(topic: InterestSet) -> set[str]:
    """The features a topic is found by: its taxonomy keys and its own-word stems."""
    return {f"k:{k}" for k in topic.keys} | {f"s:{s}" for s in topic.stems}


def topic_name(topic: InterestSet, words: str, lang: str) -> str:
    """The topic as people read it: the host's own words, else the interest's name."""
    if words.strip():
        return words.strip()[:128]
    for key in sorted(topic.keys):
        found = interest(key)
        if found is not None:
            return found.name(lang)
    return next((p.text for p in topic.personal), "?")


def _fits_slot(member: Profile, slot: str | None) -> bool:
    return slot is None or not member.availability or slot in member.availability


def _fit(
    me: Profile, them: Profile, language: str, weights: InterestWeights, year: int
) -> tuple[int, tuple[Reason, ...]] | None:
    """How well a member fits a host's topic (points), or None if they do not.

    ``me`` and ``them`` come without hard wishes, ``them`` with the topic as its
    interests (see :func:`_as_scored`)."""
    if language not in me.languages:
        return None
    found = score(me, them, weights=weights, today_year=year)
    if found is None or not any(found.reason(kind) for kind in TOPIC_KINDS):
        return None
    return round(found.value * 10), found.reasons


def _as_scored(profile: Profile, topic: InterestSet | None = None) -> Profile:
    """A profile as forming scores it: no hard wishes about a one-to-one partner, and
    for a host, the topic as its interests."""
    if topic is None:
        return replace(profile, prefs=NO_PREFS)
    return replace(profile, interests=topic, prefs=NO_PREFS)


def _nearest(
    member: Profile,
    by_feature: dict[str, list[int]],
    hosts: Sequence[Host],
    weights: InterestWeights,
) -> list[int]:
    """The ``SCORED`` hosts most worth scoring for a member, by a cheap first look.

    In a big town thousands of hosts may share a popular topic. The member's topics
    are taken rarest first; of each, at most ``LOOKED`` hosts are looked at, starting
    at a place that differs from member to member (so members spread over the hosts
    instead of all crowding the first); those without the member's language, a way
    of talking or a time in common are passed over; the rest are ranked by the topic's
    rarity and the times they share, and the full score is kept for the best few.
    """
    features = sorted(
        topic_features(member.interests),
        key=lambda f: -(weights.interest(f[2:]) if f[0] == "k" else weights.personal(f[2:])),
    )
    looked: dict[int, float] = {}
    for feature in features:
        found = by_feature.get(feature, [])
        if not found:
            continue
        rarity = (
            weights.interest(feature[2:]) if feature[0] == "k" else weights.personal(feature[2:])
        )
        start = (member.person_id * 2654435761) % len(found)
        for step in range(min(len(found), LOOKED)):
            h = found[(start + step) % len(found)]
            if h in looked:
                continue
            host = hosts[h]
            them = host.profile
            if (
                them.person_id == member.person_id
                or host.language not in member.languages
                or not (them.contact_modes & member.contact_modes)
            ):
                continue
            times = len(them.availability & member.availability) if member.availability else 1
            if them.availability and member.availability and not times:
                continue
            near_by = them.municipality is not None and them.municipality == member.municipality
            looked[h] = rarity + min(times, 3) + (0.5 if near_by else 0)
        if len(looked) >= LOOKED:
            break
    return [h for _, h in heapq.nlargest(SCORED, ((v, h) for h, v in looked.items()))]


def candidates(
    members: Sequence[Profile], hosts: Sequence[Host], weights: InterestWeights, year: int
) -> tuple[list[Option], dict[tuple[int, int], int], dict[tuple[int, int], tuple[Reason, ...]]]:
    """Every circle a host could open, and each member's ``TOP`` best among them.

    Answers the options, the points of (member index, option index), and the reasons
    of (member index, host index). Hosts are found through the topics' features, so
    a member is scored only against hosts whose topic they share.
    """
    options: list[Option] = []
    by_host: dict[int, list[int]] = defaultdict(list)
    by_feature: dict[str, list[int]] = defaultdict(list)
    for h, host in enumerate(hosts):
        slots: list[str | None] = [*sorted(host.profile.availability)] or [None]
        for slot in slots:
            by_host[h].append(len(options))
            options.append(Option(h, slot))
        for feature in topic_features(host.topic):
            by_feature[feature].append(h)
    points: dict[tuple[int, int], int] = {}
    reasons: dict[tuple[int, int], tuple[Reason, ...]] = {}
    scored_hosts = [_as_scored(host.profile, host.topic) for host in hosts]
    for m, member in enumerate(members):
        best: list[tuple[int, int]] = []
        me = _as_scored(member)
        for h in _nearest(member, by_feature, hosts, weights):
            fit = _fit(me, scored_hosts[h], hosts[h].language, weights, year)
            if fit is None:
                continue
            value, why = fit
            reasons[(m, h)] = why
            best.extend((value, o) for o in by_host[h] if _fits_slot(member, options[o].slot))
        for value, o in heapq.nlargest(TOP, best):
            points[(m, o)] = value
    return options, points, reasons


def _greedy(
    members: int,
    options: Sequence[Option],
    hosts: Sequence[Host],
    points: dict[tuple[int, int], int],
) -> dict[int, list[int]]:
    """Open the circle most free members fit first (best fit first), while its host has
    room; a lazy priority queue, so each circle is looked at again only when it may
    have lost members to another."""
    fans: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for (m, o), value in points.items():
        fans[o].append((value, m))
    for fan in fans.values():
        fan.sort(reverse=True)

    def take(o: int) -> list[tuple[int, int]]:
        return [(v, m) for v, m in fans[o] if m not in placed][:MAX_MEMBERS]

    def rank(free: list[tuple[int, int]]) -> tuple[int, int]:
        return (-len(free), -sum(v for v, _ in free))

    left = [h.capacity for h in hosts]
    placed: set[int] = set()
    opened: dict[int, list[int]] = {}
    queue = [(*rank(take(o)), o) for o in fans]
    heapq.heapify(queue)
    while queue and len(placed) < members:
        size, value, o = heapq.heappop(queue)
        if left[options[o].host_index] <= 0:
            continue
        free = take(o)
        if len(free) < MIN_MEMBERS:
            continue
        if rank(free) != (size, value):
            heapq.heappush(queue, (*rank(free), o))  # lost members since: look again later
            continue
        opened[o] = [m for _, m in free]
        placed.update(opened[o])
        left[options[o].host_index] -= 1
    # Whoever is left joins the best open circle of theirs that still has room.
    for (m, o), _value in sorted(points.items(), key=lambda item: -item[1]):
        if m not in placed and o in opened and len(opened[o]) < MAX_MEMBERS:
            opened[o].append(m)
            placed.add(m)
    return opened


def _objective(opened: dict[int, list[int]], points: dict[tuple[int, int], int]) -> int:
    return sum(PLACED + points[(m, o)] for o, ms in opened.items() for m in ms)


def _solve(
    options: Sequence[Option],
    hosts: Sequence[Host],
    points: dict[tuple[int, int], int],
    hint: dict[int, list[int]],
    time_limit_s: float,
    workers: int,
) -> dict[int, list[int]] | None:
    """CP-SAT over the sparse model, started from ``hint``; None if it found no answer."""
    model = cp_model.CpModel()
    x = {key: model.new_bool_var("") for key in points}
    used = {o for _, o in points}
    is_open = {o: model.new_bool_var("") for o in used}
    by_member: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    by_option: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    for (m, o), var in x.items():
        by_member[m].append(var)
        by_option[o].append(var)
    for vars_ in by_member.values():
        model.add_at_most_one(vars_)
    for o, vars_ in by_option.items():
        model.add(sum(vars_) >= MIN_MEMBERS * is_open[o])
        model.add(sum(vars_) <= MAX_MEMBERS * is_open[o])
    per_host: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    for o, var in is_open.items():
        per_host[options[o].host_index].append(var)
    for h, vars_ in per_host.items():
        model.add(sum(vars_) <= hosts[h].capacity)
    model.maximize(sum((PLACED + value) * x[key] for key, value in points.items()))
    chosen = {(m, o) for o, ms in hint.items() for m in ms}
    for key, var in x.items():
        model.add_hint(var, key in chosen)
    for o, var in is_open.items():
        model.add_hint(var, o in hint)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = workers
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    opened: dict[int, list[int]] = defaultdict(list)
    for (m, o), var in x.items():
        if solver.value(var):
            opened[o].append(m)
    return dict(opened)


def form_circles(
    members: Sequence[Profile],
    hosts: Sequence[Host],
    weights: InterestWeights,
    *,
    year: int,
    time_limit_s: float = TIME_LIMIT_S,
    budget_s: float | None = None,
    workers: int = 2,
) -> Forming:
    """The circles to propose: the objective above, greedy first, then CP-SAT.

    With ``budget_s`` the whole round keeps within it: CP-SAT gets what is left after
    the greedy answer (at most ``time_limit_s``), and none when too little is left."""
    started = time.perf_counter()
    options, points, reasons = candidates(members, hosts, weights, year)
    greedy = _greedy(len(members), options, hosts, points)
    greedy_seconds = time.perf_counter() - started
    greedy_value = _objective(greedy, points)
    opened, solver = greedy, "greedy"
    if budget_s is not None:
        # Building the model takes about as long again as the solver is given.
        time_limit_s = min(time_limit_s, (budget_s - greedy_seconds) / 2)
    if points and time_limit_s >= MIN_SOLVE_S:
        improved = _solve(options, hosts, points, greedy, time_limit_s, workers)
        if improved is not None and _objective(improved, points) >= greedy_value:
            opened, solver = improved, "cp-sat"
    circles = []
    for o, ms in sorted(opened.items()):
        host_index = options[o].host_index
        host = hosts[host_index]
        ordered = sorted(ms, key=lambda m: (-points[(m, o)], members[m].person_id))
        shared: list[Reason] = list(reasons.get((ordered[0], host_index), ()))
        circles.append(
            FormedCircle(
                host_id=host.profile.person_id,
                member_ids=tuple(members[m].person_id for m in ordered),
                topic_name=host.topic_name,
                language=host.language,
                slot=options[o].slot,
                value=sum(points[(m, o)] for m in ms) / 10,
                reasons=tuple(r for r in shared if r.kind in TOPIC_KINDS),
            )
        )
    return Forming(
        circles=tuple(circles),
        placed=sum(len(c.member_ids) for c in circles),
        candidates=len(points),
        greedy_objective=greedy_value,
        objective=_objective(opened, points),
        solver=solver,
        greedy_seconds=greedy_seconds,
    )


def hosts_from_interests(profiles: Iterable[Profile], lang: str = "da") -> list[Host]:
    """Hosts whose topic is their first interest (for someone who offered to host
    without naming a topic, and for the benchmark)."""
    hosts = []
    for profile in profiles:
        keys = sorted(profile.interests.keys)
        if keys:
            topic = InterestSet(frozenset(keys[:1]))
        elif profile.interests.personal:
            topic = InterestSet(personal=profile.interests.personal[:1])
        else:
            continue
        language = "da" if "da" in profile.languages else min(profile.languages)
        hosts.append(Host(profile, topic, topic_name(topic, "", lang), language))
    return hosts
