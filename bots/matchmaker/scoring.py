"""How well two people fit, and why: the matchmaker's scoring, as plain functions.

:func:`score` first applies the hard rules (a shared language, a contact mode both
use, and each side's hard preferences: partner gender, age range, living near).
A pair that breaks one is never proposed. Otherwise the pair gets a value and the
reasons behind it, which :mod:`bots.matchmaker.reasons` turns into words.

The value (all parts add; see the constants below):

* every shared interest adds its *weight*, the smoothed inverse document frequency
  ``1 + ln((1 + N) / (1 + n))`` over the N people of the population of which n
  have that interest. Two people who both love beekeeping have found each other
  in a way two of the many who like "musik" have not. Shared personal interests
  (their own words, compared by stem) are weighed the same way;
* a group both have interests in without sharing one (jazz and classical music)
  adds a little: there is something to talk about;
* each weekly time slot both have free adds one point, up to three: a pair that
  can meet has a much better start, but the tenth shared slot adds nothing;
* a shared language other than Danish (two Arabic speakers), and living in the
  same municipality, add a little each.

Age and gender never add: pairs across generations and genders are the point of
connec. They only exclude, when someone has asked for it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from typing import Literal

from connec.interests import InterestSet, interest
from connec.people import CONTACT_MODES, SLOTS

Role = Literal["citizen", "volunteer", "peer"]


RELATED_GROUP_WEIGHT = 0.5
SHARED_SLOT_WEIGHT = 1.0
SHARED_SLOTS_COUNTED = 3
OTHER_LANGUAGE_WEIGHT = 0.5
SAME_MUNICIPALITY_WEIGHT = 0.5


class ReasonKind(StrEnum):
    """What a reason is about; ``Reason.data`` holds the details, in this order."""

    SHARED_INTERESTS = "shared_interests"  # taxonomy keys, rarest first
    SHARED_PERSONAL_INTERESTS = "shared_personal_interests"  # first person's own words
    RELATED_INTERESTS = "related_interests"  # group keys with no exact match
    SHARED_TIME = "shared_time"  # slots such as "tue-am", in week order
    SHARED_MODE = "shared_mode"  # contact modes, in CONTACT_MODES order
    SHARED_LANGUAGE = "shared_language"  # ISO 639-1 codes, Danish first
    SAME_MUNICIPALITY = "same_municipality"  # the municipality's name


@dataclass(frozen=True)
class Reason:
    """One thing a pair shares, e.g. ``Reason("shared_time", ("tue-am",))``."""

    kind: ReasonKind | str
    data: tuple[str, ...]


@dataclass(frozen=True)
class Score:
    """How well a pair fits (higher is better) and the reasons why."""

    value: float
    reasons: tuple[Reason, ...] = ()

    def reason(self, kind: ReasonKind | str) -> Reason | None:
        """The reason of this kind, if the pair has one."""
        return next((r for r in self.reasons if r.kind == kind), None)


@dataclass(frozen=True)
class MatchPreferences:
    """A person's hard wishes about who they are matched with.

    ``partner_gender`` and the age range exclude everyone else; ``near_me`` asks
    for someone in the same part of Denmark (see :func:`postcode_area`), otherwise
    anyone anywhere will do.
    """

    partner_gender: str | None = None
    age_min: int | None = None
    age_max: int | None = None
    near_me: bool = False


@dataclass(frozen=True)
class Profile:
    """A snapshot of what the matchmaker knows about one person.

    ``languages`` are ISO 639-1 codes; ``contact_modes`` are among
    ``CONTACT_MODES``; ``availability`` holds slots from ``SLOTS`` (empty means
    not told); ``capacity`` is how many matches the person wants at most.
    """

    person_id: int
    role: Role
    display_name: str = ""
    birth_year: int | None = None
    gender: str | None = None
    postcode: str | None = None
    municipality: str | None = None
    languages: frozenset[str] = frozenset({"da"})
    interests: InterestSet = field(default_factory=InterestSet)
    contact_modes: frozenset[str] = frozenset(CONTACT_MODES)
    availability: frozenset[str] = frozenset()
    prefs: MatchPreferences = field(default_factory=MatchPreferences)
    capacity: int = 1


def _interest_feature(key: str) -> str:
    return f"interest:{key}"


def _personal_feature(stem: str) -> str:
    return f"personal:{stem}"


@dataclass(frozen=True)
class InterestWeights:
    """How much sharing each interest says, from how common it is in a population.

    Build it with :func:`interest_weights`. The empty default weighs everything 1.
    """

    population: int = 0
    counts: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    def _weight(self, feature: str) -> float:
        # Smoothed IDF: never zero (a shared interest is always worth something),
        # and an interest no one in the population has counts as the rarest.
        return 1.0 + math.log((1 + self.population) / (1 + self.counts.get(feature, 0)))

    def interest(self, key: str) -> float:
        """The weight of sharing the taxonomy interest ``key``."""
        return self._weight(_interest_feature(key))

    def personal(self, stem: str) -> float:
        """The weight of sharing the personal interest with comparable form ``stem``."""
        return self._weight(_personal_feature(stem))


def interest_weights(profiles: Iterable[Profile]) -> InterestWeights:
    """Weights from how many of ``profiles`` have each interest (rarer weighs more).

    Pass the whole population the matchmaker knows (citizens, volunteers, peers),
    not just the people being matched this round, so weights stay stable.
    """
    counts: Counter[str] = Counter()
    population = 0
    for profile in profiles:
        population += 1
        counts.update(_interest_feature(key) for key in profile.interests.keys)
        counts.update(_personal_feature(stem) for stem in profile.interests.stems)
    return InterestWeights(population=population, counts=MappingProxyType(dict(counts)))


# Postcode ranges standing in for "near": the first digit(s) of a Danish postcode
# follow geography closely enough to say two people live in the same part of the
# country. 39xx (Greenland) and three-digit codes (Faroe Islands) are not listed.
_POSTCODE_AREAS = (
    (1000, 2999, "københavn"),
    (3000, 3699, "nordsjælland"),
    (3700, 3799, "bornholm"),
    (4000, 4999, "sjælland og øerne"),
    (5000, 5999, "fyn"),
    (6000, 6999, "sønderjylland og sydvestjylland"),
    (7000, 7999, "midt- og vestjylland"),
    (8000, 8999, "østjylland"),
    (9000, 9999, "nordjylland"),
)


def postcode_area(postcode: str | None) -> str | None:
    """The part of Denmark a postcode lies in, or None if it is not a Danish one."""
    digits = (postcode or "").strip().removeprefix("DK-").removeprefix("DK").strip()
    if not (len(digits) == 4 and digits.isdecimal()):
        return None
    number = int(digits)
    return next((area for low, high, area in _POSTCODE_AREAS if low <= number <= high), None)


def _is_near(a: Profile, b: Profile) -> bool:
    area = postcode_area(a.postcode)
    return area is not None and area == postcode_area(b.postcode)


def _accepts(wisher: Profile, other: Profile, today_year: int) -> bool:
    """Whether ``other`` meets every hard preference of ``wisher``."""
    prefs = wisher.prefs
    if prefs.partner_gender and (
        other.gender is None or other.gender.casefold() != prefs.partner_gender.casefold()
    ):
        return False
    if prefs.age_min is not None or prefs.age_max is not None:
        if other.birth_year is None:
            return False  # an unknown age cannot honour an asked-for range
        # The age reached this year; a year's slack either way is fine for matching.
        age = today_year - other.birth_year
        if prefs.age_min is not None and age < prefs.age_min:
            return False
        if prefs.age_max is not None and age > prefs.age_max:
            return False
    return not prefs.near_me or _is_near(wisher, other)


@lru_cache(maxsize=4096)
def _groups_of(keys: frozenset[str]) -> frozenset[str]:
    # Cached because a round scores every citizen against every volunteer.
    return frozenset(found.group for key in keys if (found := interest(key)))


def _languages_in_order(codes: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(codes, key=lambda code: (code != "da", code)))


def score(a: Profile, b: Profile, *, weights: InterestWeights, today_year: int) -> Score | None:
    """How well ``a`` and ``b`` fit, with reasons; None if a hard rule rules them out.

    Symmetric in value. Personal interests are quoted in ``a``'s words, so pass the
    person whose words should be shown first (the matchmaker passes the citizen).
    """
    if a.person_id == b.person_id:
        return None
    languages = a.languages & b.languages
    modes = a.contact_modes & b.contact_modes
    if not languages or not modes:
        return None
    if not (_accepts(a, b, today_year) and _accepts(b, a, today_year)):
        return None

    value = 0.0
    reasons: list[Reason] = []

    keys = a.interests.keys & b.interests.keys
    if keys:
        ordered = sorted(keys, key=lambda key: (-weights.interest(key), key))
        value += sum(weights.interest(key) for key in ordered)
        reasons.append(Reason(ReasonKind.SHARED_INTERESTS, tuple(ordered)))

    stems = a.interests.stems & b.interests.stems
    if stems:
        ordered = sorted(stems, key=lambda stem: (-weights.personal(stem), stem))
        value += sum(weights.personal(stem) for stem in ordered)
        words = tuple(a.interests.text_for(stem) or stem for stem in ordered)
        reasons.append(Reason(ReasonKind.SHARED_PERSONAL_INTERESTS, words))

    related = (_groups_of(a.interests.keys) & _groups_of(b.interests.keys)) - _groups_of(keys)
    if related:
        value += RELATED_GROUP_WEIGHT * len(related)
        reasons.append(Reason(ReasonKind.RELATED_INTERESTS, tuple(sorted(related))))

    slots = tuple(slot for slot in SLOTS if slot in a.availability and slot in b.availability)
    if slots:
        value += SHARED_SLOT_WEIGHT * min(len(slots), SHARED_SLOTS_COUNTED)
        reasons.append(Reason(ReasonKind.SHARED_TIME, slots))

    reasons.append(
        Reason(ReasonKind.SHARED_MODE, tuple(mode for mode in CONTACT_MODES if mode in modes))
    )

    if languages - {"da"}:
        value += OTHER_LANGUAGE_WEIGHT
    reasons.append(Reason(ReasonKind.SHARED_LANGUAGE, _languages_in_order(languages)))

    if a.municipality and b.municipality and a.municipality.casefold() == b.municipality.casefold():
        value += SAME_MUNICIPALITY_WEIGHT
        reasons.append(Reason(ReasonKind.SAME_MUNICIPALITY, (a.municipality,)))

    return Score(value=value, reasons=tuple(reasons))
