"""The days people name instead of a date: "juleaften", "2. juledag", "grundlovsdag".

Pure. The official Danish holidays come from the ``holidays`` package (its dates move
with Easter and with the law, as when store bededag was abolished); the customary
days people also meet on ("mortensaften", "sankthansaften", "lillejuleaften",
"fastelavn") are added here. Each day has a key of letters only, which the booking
reader sees as one word once :data:`ALIASES` has joined the ways of writing it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from functools import cache
from types import MappingProxyType

import holidays
from dateutil.easter import easter


def _official(danish_name: str) -> Callable[[int], date | None]:
    """A day the holidays package knows, by its Danish name."""

    def on(year: int) -> date | None:
        days = holidays.country_holidays(
            "DK", years=year, language="da", categories=("public", "optional")
        )
        return next((d for d, name in days.items() if name.lower() == danish_name), None)

    return on


def _fixed(month: int, day: int) -> Callable[[int], date | None]:
    return lambda year: date(year, month, day)


def _after_easter(days: int) -> Callable[[int], date | None]:
    return lambda year: easter(year) + timedelta(days=days)


def _second_sunday_of_may(year: int) -> date:
    first = date(year, 5, 1)
    return first + timedelta(days=(6 - first.weekday()) % 7 + 7)


# key -> how to find it in a year.
_DAYS: Mapping[str, Callable[[int], date | None]] = MappingProxyType(
    {
        "nytaarsdag": _official("nytårsdag"),
        "skaertorsdag": _official("skærtorsdag"),
        "langfredag": _official("langfredag"),
        "paaskedag": _official("påskedag"),
        "andenpaaskedag": _official("anden påskedag"),
        "himmelfartsdag": _official("kristi himmelfartsdag"),
        "pinsedag": _official("pinsedag"),
        "andenpinsedag": _official("anden pinsedag"),
        "grundlovsdag": _official("grundlovsdag"),
        "juleaften": _official("juleaftensdag"),
        "juledag": _official("juledag"),
        "andenjuledag": _official("anden juledag"),
        "nytaarsaften": _official("nytårsaften"),
        "arbejdernesdag": _official("arbejdernes kampdag"),
        # Customary days, not holidays.
        "lillejuleaften": _fixed(12, 23),
        "mortensaften": _fixed(11, 10),
        "sankthansaften": _fixed(6, 23),
        "fastelavn": _after_easter(-49),
        "palmesoendag": _after_easter(-7),
        "morsdag": _second_sunday_of_may,
        "farsdag": _fixed(6, 5),
    }
)

# key -> the ways people write it (lower case; "2." and "anden" both say second).
_WAYS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "nytaarsdag": ("nytårsdag", "nytårsdagen", "new year's day", "new years day"),
        "skaertorsdag": ("skærtorsdag", "maundy thursday"),
        "langfredag": ("langfredag", "good friday"),
        "paaskedag": (
            "påskedag", "påskedagen", "påskesøndag", "1. påskedag", "første påskedag",
            "easter sunday", "easter day",
        ),
        "andenpaaskedag": ("2. påskedag", "anden påskedag", "påskemandag", "easter monday"),
        "himmelfartsdag": (
            "kristi himmelfartsdag", "kr. himmelfartsdag", "himmelfartsdag", "ascension day",
        ),
        "pinsedag": ("pinsedag", "1. pinsedag", "første pinsedag", "pinsesøndag", "whit sunday"),
        "andenpinsedag": ("2. pinsedag", "anden pinsedag", "pinsemandag", "whit monday"),
        "grundlovsdag": ("grundlovsdag", "grundlovsdagen", "constitution day"),
        "juleaften": (
            "juleaften", "juleaftensdag", "juleaftens dag", "christmas eve",
        ),
        "juledag": ("juledag", "juledagen", "1. juledag", "første juledag", "christmas day"),
        "andenjuledag": ("2. juledag", "anden juledag", "boxing day"),
        "nytaarsaften": ("nytårsaften", "nytårsaftensdag", "new year's eve", "new years eve"),
        "arbejdernesdag": ("arbejdernes kampdag",),
        "lillejuleaften": ("lillejuleaften", "lille juleaften"),
        "mortensaften": ("mortensaften", "mortens aften"),
        "sankthansaften": ("sankthansaften", "sankt hans aften", "sankt hans", "skt. hans"),
        "fastelavn": ("fastelavn", "fastelavnssøndag", "fastelavns søndag"),
        "palmesoendag": ("palmesøndag", "palm sunday"),
        "morsdag": ("mors dag", "morsdag", "mother's day", "mothers day"),
        "farsdag": ("fars dag", "farsdag", "father's day", "fathers day"),
    }
)  # fmt: skip


@cache
def aliases() -> tuple[tuple[re.Pattern[str], str], ...]:
    """(pattern, key) pairs, longest first, that make each named day one word."""
    ways = sorted(
        ((way, key) for key, ways in _WAYS.items() for way in ways),
        key=lambda pair: -len(pair[0]),
    )
    patterns = []
    for way, key in ways:
        words = [re.escape(w) for w in way.split()]
        patterns.append((re.compile(r"(?<![\w.])" + r"\s*".join(words) + r"(?!\w)"), key))
    return tuple(patterns)


def day_keys() -> frozenset[str]:
    return frozenset(_DAYS)


def words(*, several: bool = False) -> frozenset[str]:
    """Every word that names a day on its own, or (``several``) the words of the names
    said in several words ("christmas", "eve"), for reading typos of them."""
    if not several:
        return frozenset(way for ways in _WAYS.values() for way in ways if " " not in way)
    return frozenset(
        word.strip(".'")
        for ways in _WAYS.values()
        for way in ways
        if " " in way
        for word in way.split()
        if word.strip(".'").isalpha()
    )


def next_named_day(key: str, today: date) -> date | None:
    """The next date (today included) of the named day."""
    for year in (today.year, today.year + 1):
        day = _DAYS[key](year)
        if day is not None and day >= today:
            return day
    return None
