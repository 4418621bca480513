"""Turn the everyday words after ``!besøg`` / ``!visit`` into a time for a visit.

Pure: no network, no database, no clock of its own (``now`` is passed in).

Danish and English are read by the same small grammar; each construction belongs to
one language ("halv tre", "kvart i tre", "om en time" / "half past two", "in an hour"),
so no separate language detection is needed. The rules follow
``tests/data/booking-phrases.tsv``:

- a weekday means the next such day after today ("i dag" / "today" is today);
- an hour from 1 to 7 with no part of day, no am/pm and no leading zero is in the
  afternoon ("kl 3" is 15:00; "kl 03.00" is written as a 24-hour time and stays 03:00);
- a part of day alone is morgen 09, formiddag 10, middag 12, eftermiddag 14, aften 19;
- a date without a year is the next such date (today included);
- a clock time without any day is the next such time (today, else tomorrow);
- "halv tre" is half an hour *before* three (14:30), "kvart i tre" 14:45;
- a range ("kl 14-15", "fra 10 til 12", "mellem 14 og 15", "from 2 to 4pm") gives the
  start and the length; "en times tid" and "et par timer" are lengths;
- a named day ("juleaften", "2. juledag", "grundlovsdag", :mod:`named_days`) is its next date;
- only weekly visits exist, so "hver dag" or "every other week" is unparseable rather
  than quietly booked once; so is anything that contradicts itself ("onsdag den 1.
  december" when the 1st is a Tuesday, two different times).

Daylight saving (Europe/Copenhagen): a wall time that does not exist because the
clocks spring forward (2027-03-28 02:30) is moved forward by the length of the gap,
to 03:30 summer time, as common calendar apps do; the bot's confirmation spells the
time out, so the person sees it. A wall time that happens twice (2026-10-25 02:30)
means the first one, still summer time (+02:00). "om 2 timer" / "in 2 hours" is
elapsed time, so it is counted in UTC across a change.

We measured ``dateparser`` on the Danish rows first: it misses "kl 14", "halv tre",
"kvart i tre", "hver onsdag", parts of day, the 1–7 afternoon rule and Danish dates,
so this module is a small tokenizer and grammar instead; Babel supplies the month
and weekday names. It reads the words it knows and skips the rest; reading typos is
:mod:`bots.scheduler.reading`'s job, on top of this.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from types import MappingProxyType
from typing import NamedTuple
from zoneinfo import ZoneInfo

from babel.dates import get_day_names, get_month_names

from bots.scheduler import named_days

DEFAULT_DURATION_MINUTES = 30
LONGEST_DURATION_MINUTES = 24 * 60
# "om 3 uger" is fine; "om 10000000 uger" is not a booking (and would overflow a date).
FURTHEST_AHEAD_DAYS = 366

PAST = "past"
UNPARSEABLE = "unparseable"
ASK_TIME = "ask_time"


@dataclass(frozen=True)
class BookingRequest:
    """What a person asked for when booking a visit.

    ``when`` is timezone-aware in the zone the text was read in; it is None when
    ``problem`` is set. ``problem`` is None, "past", "unparseable" or "ask_time" (a
    day was given but no time; ``day`` then holds that day so the bot can ask for the
    time on it).
    """

    when: datetime | None
    weekly: bool
    duration_minutes: int
    contact_mode: str | None
    problem: str | None
    day: date | None = None


# --- Words -----------------------------------------------------------------------

# Multi-word phrases become one token first, so "i morgen" (tomorrow) is never read as
# "i" + "morgen" (morning) and "i aften" is this evening, not the evening of some day.
_PHRASES: tuple[tuple[str, str], ...] = (
    # "mellem 14 og 15" is the range "fra 14 til 15".
    (
        r"\b(?:mellem|between)\s+((?:kl\.?|klokken|at)?\s*\d{1,2}(?:[.:]\d{2})?)\s+(?:og|and)\s+",
        r"fra \1 til ",
    ),
    # "en times tid", "et kvarters tid": about that long.
    (r"\btimes\s+tid\b", "time"),
    (r"\btimers\s+tid\b", "timer"),
    (r"\bkvarters\s+tid\b", "kvarter"),
    (r"\bet\s+par\s+timer\b", "2 timer"),
    (r"\ba\s+couple\s+of\s+hours\b", "2 hours"),
    (r"\bi\s*morn\b", "imorgen"),  # how "i morgen" is said, and often written
    (r"\b(?:tmrw|tmr|tomoz)\b", "tomorrow"),
    (r"\btonite\b", "tonight"),
    (r"\bi\s*overmorgen\b", "overmorgen"),
    (r"\b(?:the\s+)?day\s+after\s+tomorrow\b", "overmorgen"),
    (r"\bi\s+morgen\b", "imorgen"),
    (r"\bi\s+dag\b", "idag"),
    (r"\bi\s+går\b", "igår"),
    (r"\bi\s+forgårs\b", "iforgårs"),
    (r"\bi\s+aften\b", "iaften"),
    (r"\bi\s+eftermiddag\b", "ieftermiddag"),
    (r"\bi\s+formiddag\b", "iformiddag"),
    (r"\bi\s+morges\b", "imorges"),
    (r"\bi\s+nat\b", "inat"),
    (r"\b(?:i\s+)?næste\s+uge\b", "næsteuge"),
    (r"\bnext\s+week\b", "nextweek"),
    (r"\bthis\s+morning\b", "thismorning"),
    (r"\bthis\s+afternoon\b", "ieftermiddag"),
    (r"\b(?:this\s+evening|tonight)\b", "iaften"),
)

_NUMBER_WORDS: Mapping[str, int] = MappingProxyType(
    {
        "en": 1, "et": 1, "én": 1, "een": 1, "to": 2, "tre": 3, "fire": 4, "fem": 5,
        "seks": 6, "syv": 7, "otte": 8, "ni": 9, "ti": 10, "elleve": 11, "tolv": 12,
        "tretten": 13, "fjorten": 14, "femten": 15, "seksten": 16, "sytten": 17,
        "atten": 18, "nitten": 19, "tyve": 20, "femogtyve": 25, "tredive": 30,
        "fyrre": 40, "femogfyrre": 45, "halvtreds": 50, "halvfems": 90,
        "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
        "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
        "twenty": 20, "twentyfive": 25, "thirty": 30, "forty": 40, "fortyfive": 45,
        "ninety": 90,
    }
)  # fmt: skip

# Spoken "N over/i H", "N past/to H" only with the minutes people say that way, so
# "from 2 to 3" is not read as two minutes to three.
_SPOKEN_MINUTES: Mapping[str, int] = MappingProxyType(
    {"fem": 5, "ti": 10, "kvart": 15, "tyve": 20, "femogtyve": 25,
     "five": 5, "ten": 10, "quarter": 15, "twenty": 20, "twentyfive": 25, "half": 30,
     "5": 5, "10": 10, "15": 15, "20": 20, "25": 25}
)  # fmt: skip
_AFTER_WORDS = frozenset({"over", "past", "after"})
_BEFORE_WORDS = frozenset({"i", "to", "before"})
_MINUTE_WORDS = frozenset({"minutter", "minut", "minutes", "minute", "min", "mins"})

_UNITS: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(("min", "mins", "minut", "minutter", "minute", "minutes"), "minute"),
        **dict.fromkeys(("time", "timer", "timen", "hour", "hours", "hr", "hrs"), "hour"),
        **dict.fromkeys(("kvarter",), "quarter"),
        **dict.fromkeys(("dag", "dage", "døgn", "day", "days"), "day"),
        **dict.fromkeys(("uge", "uger", "week", "weeks"), "week"),
    }
)
_UNIT_MINUTES: Mapping[str, int] = MappingProxyType({"minute": 1, "quarter": 15, "hour": 60})
_UNIT_DAYS: Mapping[str, int] = MappingProxyType({"day": 1, "week": 7})

_MARKERS = frozenset({"kl", "klokken", "at", "fra", "from"})
_UNTIL_WORDS = frozenset({"til", "to", "until", "till"})
_MERIDIEMS = frozenset({"am", "pm"})
_CLOCK_SUFFIXES = frozenset({"oclock", "tiden"})
_NOON_WORDS = frozenset({"middag", "noon", "midday"})

# Part of day → the hour it means on its own (None: the bot must ask).
_PART_HOURS: Mapping[str, int | None] = MappingProxyType(
    {"morning": 9, "late_morning": 10, "noon": 12, "afternoon": 14, "evening": 19, "night": None}
)
_PART_WORDS: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(("morgen", "morgenen", "morning"), "morning"),
        **dict.fromkeys(("formiddag", "formiddagen"), "late_morning"),
        **dict.fromkeys(("middag", "middagen", "noon", "midday"), "noon"),
        **dict.fromkeys(("eftermiddag", "eftermiddagen", "afternoon"), "afternoon"),
        **dict.fromkeys(("aften", "aftenen", "evening"), "evening"),
        **dict.fromkeys(("nat", "natten", "night"), "night"),
    }
)

_DAY_OFFSETS: Mapping[str, int] = MappingProxyType(
    {"idag": 0, "today": 0, "imorgen": 1, "tomorrow": 1, "overmorgen": 2,
     "igår": -1, "yesterday": -1, "iforgårs": -2}
)  # fmt: skip
_TODAY_PARTS: Mapping[str, str] = MappingProxyType(
    {"iaften": "evening", "ieftermiddag": "afternoon", "iformiddag": "late_morning",
     "imorges": "morning", "thismorning": "morning", "inat": "night"}
)  # fmt: skip

_EVERY_WORDS = frozenset({"hver", "hvert", "every", "each", "alle"})
_WEEK_WORDS = frozenset({"uge", "week"})
_WEEKLY_WORDS = frozenset({"ugentlig", "ugentligt", "weekly"})
# Only weekly visits are supported; other rhythms must not quietly become one visit.
_OTHER_RHYTHM_WORDS = frozenset(
    {"dag", "day", "anden", "andet", "other", "måned", "month", "morgen", "aften"}
)
_OTHER_RHYTHMS = frozenset({"daily", "dagligt", "daglig", "monthly", "månedlig", "månedligt"})
_NEXT_WEEK_WORDS = frozenset({"næsteuge", "nextweek"})
_DAY_OF_MONTH_WORDS = frozenset({"den", "d", "the"})

# "video call" and "videoopkald" are video; a call with no other word is a voice call.
_MODE_WORDS: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(
            ("video", "videoopkald", "videosamtale", "videochat", "videomøde", "videocall",
             "facetime"), "video"),
        **dict.fromkeys(
            ("telefon", "telefonen", "telefonisk", "taleopkald", "stemmeopkald", "lydopkald",
             "voice", "phone", "telephone"), "voice"),
        **dict.fromkeys(
            ("ring", "ringe", "ringer", "ringes", "opkald", "opringning", "call", "calling"),
            "call"),
        **dict.fromkeys(
            ("chat", "chatte", "chatter", "chatting", "skrive", "skriv", "skriver", "skrives",
             "tekst", "beskeder", "write", "writing", "text", "texting", "messages"), "chat"),
    }
)  # fmt: skip

# Babel's short day names that are also everyday words: Danish "man" (one), "mon"
# (I wonder), "søn" (son); English "sat", "sun".
_NOT_DAY_ABBREVIATIONS = frozenset({"man", "mon", "søn", "sat", "sun"})
_EXTRA_DAY_ABBREVIATIONS: Mapping[str, int] = MappingProxyType(
    {"tues": 1, "weds": 2, "thur": 3, "thurs": 3}
)
# Full month names that are also English words, so alone they say nothing.
_MONTH_WORDS_ALSO_VERBS = frozenset({"may", "march"})
_EXTRA_MONTH_ABBREVIATIONS: Mapping[str, int] = MappingProxyType({"mrt": 3, "sept": 9})

_TOKEN_PATTERN = re.compile(
    r"""
      (?P<iso>\d{4}-\d{1,2}-\d{1,2})
    | (?P<date>\d{1,2}/\d{1,2}(?:[/-]\d{2,4})?
              | \d{1,2}\.\d{1,2}\.\d{2,4}
              | \d{1,2}-\d{1,2}-\d{2,4})
    | (?P<clock>\d{1,2}:\d{2})
    | (?P<decimal>\d+,\d+ | \d*½)
    | (?P<pair>\d{1,2}\.\d{1,2})(?!\d)
    | (?P<ord>\d{1,2})(?:\.(?!\d)|(?:st|nd|rd|th)\b)
    | (?P<num>\d+)
    | (?P<word>[a-zæøåéü]+)
    """,
    re.VERBOSE,
)


# A dash between two clock times, not inside a date: "14-15", "10.00–11.30".
_RANGE_DASH = re.compile(
    r"(?<![\d/.:-])(\d{1,2}(?:[.:]\d{2})?)\s*[-–]\s*(?=\d{1,2}(?:[.:]\d{2})?(?![\d/.:-]))"
)


@cache
def _weekday_words() -> Mapping[str, tuple[int, str]]:
    """Weekday words from Babel → (weekday, form); form is plain, definite or plural."""
    words: dict[str, tuple[int, str]] = {}
    for locale in ("da", "en"):
        wide = get_day_names("wide", locale=locale)
        short = get_day_names("abbreviated", locale=locale)
        for weekday, name in wide.items():
            name = name.lower()
            words[name] = (weekday, "plain")
            # Danish "om onsdagen" / "onsdage", English "Wednesdays" mean every week.
            if locale == "da":
                words[name + "en"] = (weekday, "definite")
                words[name + "e"] = (weekday, "plural")
            else:
                words[name + "s"] = (weekday, "plural")
            abbreviation = short[weekday].lower().rstrip(".")
            if abbreviation not in _NOT_DAY_ABBREVIATIONS:
                words.setdefault(abbreviation, (weekday, "plain"))
    for abbreviation, weekday in _EXTRA_DAY_ABBREVIATIONS.items():
        words[abbreviation] = (weekday, "plain")
    return MappingProxyType(words)


@cache
def _month_words() -> Mapping[str, int]:
    """Month names and abbreviations in Danish and English, from Babel → month number."""
    words: dict[str, int] = dict(_EXTRA_MONTH_ABBREVIATIONS)
    for locale in ("da", "en"):
        for width in ("wide", "abbreviated"):
            for month, name in get_month_names(width, locale=locale).items():
                words[name.lower().rstrip(".")] = month
    return MappingProxyType(words)


@cache
def _full_month_names() -> frozenset[str]:
    """Full month names; alone (without a day number) they make a request unclear."""
    names = {
        name.lower()
        for locale in ("da", "en")
        for name in get_month_names("wide", locale=locale).values()
    }
    return frozenset(names - _MONTH_WORDS_ALSO_VERBS)


# Words of the phrases above and of the small grammar, known as they are.
_GRAMMAR_WORDS = frozenset(
    {"i", "på", "om", "in", "on", "the", "of", "den", "d", "ved", "og", "and", "halv", "half",
     "kvart", "quarter", "tidlig", "næste", "next", "day", "after", "this", "morgen", "dag",
     "går", "forgårs", "aften", "eftermiddag", "formiddag", "morges", "nat", "mellem",
     "between", "tid", "par", "couple", "a", "an", "for", "tonight", "uge", "ugen", "gang"}
)  # fmt: skip


@cache
def known_words() -> frozenset[str]:
    """Every word the reader understands as it is written."""
    return frozenset(
        {
            *_weekday_words(), *_month_words(), *_PART_WORDS, *_DAY_OFFSETS, *_TODAY_PARTS,
            *_NUMBER_WORDS, *_SPOKEN_MINUTES, *_AFTER_WORDS, *_BEFORE_WORDS, *_UNITS,
            *_MARKERS, *_UNTIL_WORDS, *_MERIDIEMS, *_CLOCK_SUFFIXES, *_NOON_WORDS,
            *_EVERY_WORDS, *_WEEK_WORDS, *_WEEKLY_WORDS, *_OTHER_RHYTHMS, *_MODE_WORDS,
            *_DAY_OF_MONTH_WORDS, *_GRAMMAR_WORDS, *_NOT_DAY_ABBREVIATIONS,
            *named_days.words(), *named_days.words(several=True),
        }
    )  # fmt: skip


@cache
def time_words() -> frozenset[str]:
    """The words a typo may be of, so that it is read or asked about rather than lost:
    days, months, parts of day, time and length words, named days, how to talk.
    Short words are left out: a typo of "kl" or "maj" could be anything."""
    words = {
        *_weekday_words(), *_month_words(), *_PART_WORDS, *_DAY_OFFSETS, *_TODAY_PARTS,
        *_NUMBER_WORDS, *_UNITS, *_MARKERS, *_EVERY_WORDS, *_WEEKLY_WORDS, *_MODE_WORDS,
        *named_days.words(), "tonight", "næste", "halvanden", "kvarter", "eftermiddag",
    }  # fmt: skip
    # The distinctive words of named days said in several words ("christmas eve").
    words |= {w for w in named_days.words(several=True) if len(w) >= 5}
    return frozenset(w for w in words if len(w) >= 4)


# --- Tokens ----------------------------------------------------------------------


class _Token(NamedTuple):
    kind: str  # word | num | ord | pair | clock | date | decimal
    text: str
    numbers: tuple[int, ...] = ()


def _tokenize(text: str) -> list[_Token]:
    """Lower-case the text, join multi-word phrases and split it into typed tokens."""
    text = text.lower().replace("’", "'")
    text = text.replace("a.m.", "am").replace("p.m.", "pm").replace("o'clock", "oclock")
    text = re.sub(r"(?<=[a-zæøå])-(?=[a-zæøå])", "", text)  # video-opkald, twenty-five
    text = re.sub(r"(?<=\d)-(?=tiden\b)", "", text)  # 14-tiden
    text = _RANGE_DASH.sub(r"\1 til ", text)  # "kl 14-15", but not "3-12-2026"
    for named, key in named_days.aliases():  # "2. juledag" is one word, a day
        text = named.sub(key, text)
    for pattern, replacement in _PHRASES:
        text = re.sub(pattern, replacement, text)
    tokens: list[_Token] = []
    for match in _TOKEN_PATTERN.finditer(text):
        kind = match.lastgroup or "word"
        raw = match.group(kind)
        numbers = tuple(int(part) for part in re.findall(r"\d+", raw))
        if kind == "iso":
            kind, numbers = "date", (numbers[2], numbers[1], numbers[0])
        tokens.append(_Token(kind, raw, numbers))
    return tokens


# --- What was said ---------------------------------------------------------------


@dataclass(frozen=True)
class _Clock:
    hour: int
    minute: int
    exact: bool  # a 24-hour reading: no afternoon rule, no part-of-day shift


@dataclass
class _Findings:
    """Everything recognised in one text; a second, different value is a contradiction."""

    clock: _Clock | None = None
    until: _Clock | None = None  # "kl 14-15": the end of the visit
    part: str | None = None
    date: tuple[int | None, int, int] | None = None  # (year or None, month, day)
    day_of_month: int | None = None
    day_offset: int | None = None
    relative: timedelta | None = None
    relative_days: int | None = None
    weekday: int | None = None
    named_day: str | None = None  # a key of named_days ("juleaften")
    next_week: bool = False
    weekly: bool = False
    duration: int | None = None
    modes: set[str] = field(default_factory=set)
    loose_numbers: list[_Token] = field(default_factory=list)
    pairs: list[_Token] = field(default_factory=list)
    broken: bool = False
    loose_clock: bool = False  # the clock time is a bare number ("i morgen 14")

    def put(self, name: str, value: object) -> None:
        """Record ``value``; saying two different things for one slot is unclear."""
        current = getattr(self, name)
        if current is None:
            setattr(self, name, value)
        elif current != value:
            self.broken = True

    def day_references(self) -> int:
        """How many independent ways of naming the day were used."""
        named = (
            self.date,
            self.day_of_month,
            self.day_offset,
            self.relative_days,
            self.named_day,
        )
        return sum(reference is not None for reference in named)


class _Reader:
    """Walks the tokens left to right; at each place the first construction that fits wins."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.found = _Findings()

    def token(self, i: int) -> _Token | None:
        return self.tokens[i] if 0 <= i < len(self.tokens) else None

    def word(self, i: int) -> str | None:
        token = self.token(i)
        return token.text if token is not None and token.kind == "word" else None

    def read(self) -> _Findings:
        steps = (
            self._relative,
            self._rhythm,
            self._duration,
            self._marked_time,
            self._spoken_time,
            self._day_word,
            self._weekday,
            self._named_day,
            self._date,
            self._part_of_day,
            self._contact_mode,
        )
        i = 0
        while i < len(self.tokens):
            for step in steps:
                after = step(i)
                if after is not None:
                    i = after
                    break
            else:
                self._leftover(i)
                i += 1
        self._settle_leftovers()
        return self.found

    # Amounts and units: "2 timer", "en halv time", "halvanden time", "45 min", "an hour".

    def _amount(self, i: int) -> tuple[int, float] | None:
        token, word = self.token(i), self.word(i)
        if token is None:
            return None
        if token.kind in {"num", "pair"}:
            return i + 1, float(token.text)
        if token.kind == "decimal":  # "1½", "½", "1,5"
            if token.text.endswith("½"):
                return i + 1, float(token.text[:-1] or 0) + 0.5
            return i + 1, float(token.text.replace(",", "."))
        if word == "halvanden":
            return i + 1, 1.5
        if word in {"en", "et", "a", "an", "one"} and self.word(i + 1) in {"halv", "half"}:
            return i + 2, 0.5
        if word == "half" and self.word(i + 1) in {"a", "an"}:
            return i + 2, 0.5
        if word in {"a", "an"}:
            return i + 1, 1.0
        if word is not None and word in _NUMBER_WORDS:
            return i + 1, float(_NUMBER_WORDS[word])
        return None

    def _measure(self, i: int) -> tuple[int, int | None, int | None] | None:
        """An amount with a unit: (index after, minutes or None, days or None)."""
        amount = self._amount(i)
        if amount is None:
            return None
        j, value = amount
        unit = _UNITS.get(self.word(j) or "")
        if unit is None:
            return None
        j += 1
        if unit in _UNIT_DAYS:
            if value != int(value):
                return None
            return j, None, int(value) * _UNIT_DAYS[unit]
        minutes = value * _UNIT_MINUTES[unit]
        if unit == "hour" and self.word(j) in {"og", "and"}:
            # "en time og et kvarter", "an hour and a half", "1 time og 30 minutter"
            if (self.word(j + 1), self.word(j + 2)) in {("en", "halv"), ("a", "half")}:
                return j + 3, round(minutes + 30), None
            more = self._measure(j + 1)
            if more is not None and more[1] is not None:
                return more[0], round(minutes + more[1]), None
        return j, round(minutes), None

    # Constructions.

    def _relative(self, i: int) -> int | None:
        """ "om en time", "in 2 hours", "om en uge"; also "om morgenen", "om onsdagen"."""
        word = self.word(i)
        if word not in {"om", "in"}:
            return None
        measured = self._measure(i + 1)
        if measured is not None:
            after, minutes, days = measured
            if (minutes or 0) > FURTHEST_AHEAD_DAYS * 24 * 60 or (days or 0) > FURTHEST_AHEAD_DAYS:
                self.found.broken = True
            elif minutes is not None:
                self.found.put("relative", timedelta(minutes=minutes))
            else:
                self.found.put("relative_days", days)
            return after
        follows = self.word(i + 1) or ""
        if word == "in" and follows == "the" and (self.word(i + 2) or "") in _PART_WORDS:
            self.found.put("part", _PART_WORDS[self.word(i + 2) or ""])
            return i + 3
        if word != "om":
            return None
        if follows in _PART_WORDS:
            self.found.put("part", _PART_WORDS[follows])
            return i + 2
        if follows == "ugen":  # "en gang om ugen"
            self.found.weekly = True
            return i + 2
        weekday = _weekday_words().get(follows)
        if weekday is not None and weekday[1] == "definite":  # "om onsdagen"
            self.found.put("weekday", weekday[0])
            self.found.weekly = True
            return i + 2
        return None

    def _rhythm(self, i: int) -> int | None:
        """ "hver onsdag", "every Wednesday", "hver uge", "ugentligt"; other rhythms are unclear."""
        word = self.word(i)
        if word in _WEEKLY_WORDS:
            self.found.weekly = True
            return i + 1
        if word in _OTHER_RHYTHMS:
            self.found.broken = True
            return i + 1
        if word not in _EVERY_WORDS:
            return None
        follows = self.word(i + 1) or ""
        weekday = _weekday_words().get(follows)
        if weekday is not None:
            self.found.put("weekday", weekday[0])
            self.found.weekly = True
            return i + 2
        if follows in _WEEK_WORDS:
            self.found.weekly = True
            return i + 2
        counted = self.token(i + 1)
        if follows in _OTHER_RHYTHM_WORDS or (counted is not None and counted.kind == "ord"):
            self.found.broken = True  # "hver dag", "every other week", "hver 14. dag"
            return i + 2
        return None

    def _duration(self, i: int) -> int | None:
        """ "i en time", "45 minutter", "for an hour", "i halvanden time"."""
        start = i + 1 if self.word(i) in {"i", "for"} else i
        measured = self._measure(start)
        if measured is None:
            return None
        after, minutes, _days = measured
        if minutes is None or not 0 < minutes <= LONGEST_DURATION_MINUTES:
            self.found.broken = True  # "i 2 dage" is not a visit's length
        else:
            self.found.put("duration", minutes)
        return after

    def _marked_time(self, i: int) -> int | None:
        """A time after "kl", "kl.", "klokken" or "at"."""
        if self.word(i) not in _MARKERS:
            return None
        return self._take_time(i + 1, marked=True)

    def _spoken_time(self, i: int) -> int | None:
        """A time that says it is one: "10:30", "3pm", "halv tre", "kvart i tre", "14-tiden"."""
        return self._take_time(i, marked=False)

    def _take_time(self, i: int, marked: bool) -> int | None:
        read = self._time_at(i, marked)
        if read is None:
            return None
        after, clock = read
        if clock is None:
            self.found.broken = True  # "kl 25", "kl 14.75", "14pm"
            return after
        self.found.put("clock", clock)
        return self._take_until(after)

    def _take_until(self, i: int) -> int:
        """The end of a range after a clock time: "kl 14-15", "fra 14 til 15", "2 to 4pm"."""
        if self.word(i) not in _UNTIL_WORDS:
            return i
        start = i + 2 if self.word(i + 1) in _MARKERS else i + 1
        read = self._time_at(start, marked=True)
        if read is None or read[1] is None or self.word(read[0]) in _UNITS:
            return i  # "kl 10 to timer" is a length, read by the next step
        self.found.put("until", read[1])
        return read[0]

    def _hour_at(self, i: int) -> int | None:
        """An hour on the 12-hour dial, as a digit or a word ("tre", "three")."""
        token, word = self.token(i), self.word(i)
        if token is not None and token.kind in {"num", "ord"} and 1 <= token.numbers[0] <= 12:
            return token.numbers[0]
        if word is not None and 1 <= _NUMBER_WORDS.get(word, 0) <= 12:
            return _NUMBER_WORDS[word]
        return None

    def _time_at(self, i: int, marked: bool) -> tuple[int, _Clock | None] | None:
        """A clock time starting at token ``i``: (index after it, the time or None if impossible)."""
        token, word = self.token(i), self.word(i)
        if token is None:
            return None
        spoken = self._minutes_around_hour(i)
        if spoken is not None:
            return spoken
        if word in {"halv", "half"}:
            hour = self._hour_at(i + 1)
            if hour is None:
                return None
            # Danish "halv tre" is half an hour BEFORE three; British "half three" is after.
            return i + 2, _Clock(_hour_before(hour) if word == "halv" else hour, 30, False)
        follows = self.word(i + 1)
        if token.kind == "clock" or (token.kind == "pair" and (marked or follows in _MERIDIEMS)):
            hour, minute = token.numbers
            return self._finish_clock(i + 1, hour, minute, token.text.startswith("0"))
        if token.kind in {"num", "ord"} and (
            follows in _MERIDIEMS or follows in _CLOCK_SUFFIXES or marked
        ):
            if marked and (follows in _month_words() or follows == "of"):
                return None  # "at 3 December" is a date
            return self._finish_clock(i + 1, token.numbers[0], 0, token.text.startswith("0"))
        if word is not None and (marked or follows in _CLOCK_SUFFIXES or follows in _MERIDIEMS):
            hour = self._hour_at(i)
            if hour is not None:
                return self._finish_clock(i + 1, hour, 0, leading_zero=False)
            if marked and word in _NOON_WORDS:
                return i + 1, _Clock(12, 0, True)
        if word is not None and word.endswith("tiden"):  # "ved totiden"
            hour = _NUMBER_WORDS.get(word.removesuffix("tiden"), 0)
            if 1 <= hour <= 12:
                return i + 1, _Clock(hour, 0, False)
        return None

    def _minutes_around_hour(self, i: int) -> tuple[int, _Clock | None] | None:
        """ "kvart over ti", "fem i halv tre", "ten past three", "quarter to three"."""
        token = self.token(i)
        if token is None:
            return None
        j = i + 1
        minutes = _SPOKEN_MINUTES.get(token.text)
        if self.word(j) in _MINUTE_WORDS and token.kind == "num" and token.numbers[0] < 30:
            minutes, j = token.numbers[0], j + 1  # "3 minutter over ti"
        relation = self.word(j)
        if minutes is None or relation not in _AFTER_WORDS | _BEFORE_WORDS:
            return None
        if minutes == 30 and relation != "past":
            return None
        if relation == "to" and token.kind != "word":
            return None  # "from 10 to 12" is a range; "ten to twelve" is spoken
        j += 1
        half = relation in {"over", "i"} and self.word(j) == "halv"
        if half:
            j += 1
        hour = self._hour_at(j)
        if hour is None or self.word(j + 1) in _UNITS:
            return None  # "kl 14 i 2 timer" is a time and a length, not 13:58
        start = (_hour_before(hour) * 60 + 30) if half else hour * 60
        total = start + (minutes if relation in _AFTER_WORDS else -minutes)
        return j + 1, _Clock(_on_dial(total // 60), total % 60, False)

    def _finish_clock(
        self, j: int, hour: int, minute: int, leading_zero: bool
    ) -> tuple[int, _Clock | None]:
        if self.word(j) in _CLOCK_SUFFIXES:
            j += 1
        meridiem = self.word(j)
        if meridiem in _MERIDIEMS:
            j += 1
            if not (1 <= hour <= 12 and minute <= 59):
                return j, None
            return j, _Clock(hour % 12 + (12 if meridiem == "pm" else 0), minute, True)
        if hour > 23 or minute > 59:
            return j, None
        # A leading zero ("02.30") is how people write a 24-hour time on purpose.
        return j, _Clock(hour, minute, hour >= 13 or leading_zero)

    def _day_word(self, i: int) -> int | None:
        word = self.word(i) or ""
        if word in _DAY_OFFSETS:
            self.found.put("day_offset", _DAY_OFFSETS[word])
            if word == "imorgen" and self.word(i + 1) == "tidlig":  # "i morgen tidlig"
                self.found.put("part", "morning")
                return i + 2
            return i + 1
        if word in _TODAY_PARTS:
            self.found.put("day_offset", 0)
            self.found.put("part", _TODAY_PARTS[word])
            return i + 1
        return None

    def _weekday(self, i: int) -> int | None:
        word = self.word(i) or ""
        if word in _NEXT_WEEK_WORDS:
            self.found.next_week = True
            return i + 1
        weekday = _weekday_words().get(word)
        if weekday is None:
            return None
        self.found.put("weekday", weekday[0])
        if weekday[1] == "plural":
            self.found.weekly = True
        return i + 1

    def _named_day(self, i: int) -> int | None:
        """ "juleaften", "2. juledag" (joined into one word by the tokenizer)."""
        word = self.word(i)
        if word is None or word not in named_days.day_keys():
            return None
        self.found.put("named_day", word)
        return i + 1

    def _date(self, i: int) -> int | None:
        """ "3/12", "3.12.2026", "den 3. december", "3. dec.", "December 3rd", "the 3rd"."""
        token, word = self.token(i), self.word(i)
        if token is None:
            return None
        if token.kind == "date":
            day_number, month_number, *year = token.numbers
            full_year = _full_year(year[0]) if year else None
            self.found.put("date", (full_year, month_number, day_number))
            return i + 1
        if token.kind in {"num", "ord"}:
            j = i + 2 if self.word(i + 1) == "of" else i + 1
            month = _month_words().get(self.word(j) or "")
            if month is not None:
                return self._date_with_year(j + 1, month, token.numbers[0])
            return None
        if word is None:
            return None
        month = _month_words().get(word)
        if month is not None:
            follows = self.token(i + 1)
            if follows is not None and follows.kind in {"num", "ord"}:
                return self._date_with_year(i + 2, month, follows.numbers[0])
            if word in _full_month_names():
                self.found.broken = True  # "i december" names no day
            return None
        if word in _DAY_OF_MONTH_WORDS:
            follows = self.token(i + 1)
            if follows is None or follows.kind not in {"num", "ord", "date"}:
                return None
            dated = self._date(i + 1)
            if dated is not None:
                return dated
            if follows.kind == "ord" or word == "den":
                self.found.put("day_of_month", follows.numbers[0])
                return i + 2
        return None

    def _date_with_year(self, j: int, month: int, day: int) -> int:
        follows = self.token(j)
        if follows is not None and follows.kind == "num" and len(follows.text) == 4:
            self.found.put("date", (follows.numbers[0], month, day))
            return j + 1
        self.found.put("date", (None, month, day))
        return j

    def _part_of_day(self, i: int) -> int | None:
        part = _PART_WORDS.get(self.word(i) or "")
        if part is None:
            return None
        self.found.put("part", part)
        return i + 1

    def _contact_mode(self, i: int) -> int | None:
        mode = _MODE_WORDS.get(self.word(i) or "")
        if mode is None:
            return None
        self.found.modes.add(mode)
        return i + 1

    def _leftover(self, i: int) -> None:
        """Words nobody claimed are small talk; numbers nobody claimed still matter."""
        token = self.token(i)
        if token is None or token.kind == "word":
            return
        if token.kind in {"num", "ord"}:
            self.found.loose_numbers.append(token)
        elif token.kind == "pair":
            self.found.pairs.append(token)
        else:
            self.found.broken = True

    def _settle_leftovers(self) -> None:
        found = self.found
        # "10.30" is a time and "3.12" a date, but "10.10" could be either: with another
        # clock time it is the date, with another day it is the time, alone the date.
        for pair in found.pairs:
            first, second = pair.numbers
            second_text = pair.text.split(".")[1]
            can_be_time = first <= 23 and len(second_text) == 2 and second <= 59
            can_be_date = 1 <= first <= 31 and 1 <= second <= 12
            if can_be_time and can_be_date:
                has_day = found.day_references() > 0 or found.weekday is not None
                can_be_date = found.clock is not None or not has_day
                can_be_time = not can_be_date
            if can_be_date:
                found.put("date", (None, second, first))
            elif can_be_time:
                exact = first >= 13 or pair.text.startswith("0")
                found.put("clock", _Clock(first, second, exact))
            else:
                found.broken = True
        # One bare number with no other clock time is the hour ("i morgen 14").
        if len(found.loose_numbers) == 1 and found.clock is None:
            number = found.loose_numbers[0]
            if number.numbers[0] <= 23:
                leading_zero = number.text.startswith("0") and len(number.text) > 1
                found.clock = _Clock(number.numbers[0], 0, number.numbers[0] >= 13 or leading_zero)
                found.loose_clock = True
                return
        if found.loose_numbers:
            found.broken = True


# --- Small calendar helpers ------------------------------------------------------


def _hour_before(hour: int) -> int:
    """The hour before on a 12-hour dial: "halv et" is half past twelve."""
    return 12 if hour == 1 else hour - 1


def _on_dial(hour: int) -> int:
    hour %= 12
    return 12 if hour == 0 else hour


def _full_year(year: int) -> int:
    return 2000 + year if year < 100 else year


def _next_date(today: date, month: int, day: int) -> date | None:
    """The next such date, today included; None if the date never exists (31/2)."""
    for year in range(today.year, today.year + 9):  # 29/2 waits for a leap year
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def _next_day_of_month(today: date, day: int) -> date | None:
    """The next date falling on this day of the month ("den 3.")."""
    year, month = today.year, today.month
    for _ in range(13):
        try:
            candidate = date(year, month, day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _next_weekday(today: date, weekday: int, next_week: bool) -> date:
    """The next such weekday after today, or that weekday in the next calendar week."""
    if next_week:
        return today - timedelta(days=today.weekday()) + timedelta(days=7 + weekday)
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def _wall_time(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """``day`` at ``clock`` on the wall in ``zone``, with daylight-saving edges settled.

    ``fold=0`` picks the first of a repeated hour (summer time). A time in the spring
    gap does not exist; going through UTC moves it forward by the gap (02:30 → 03:30).
    """
    local = datetime.combine(day, clock, tzinfo=zone)
    return local.astimezone(UTC).astimezone(zone)


def _clock_hour(clock: _Clock, part: str | None) -> int:
    """The 24-hour hour meant by a clock time, given the part of day said with it."""
    hour = clock.hour
    if clock.exact:
        return hour
    if part in {"afternoon", "evening"} and hour < 12:
        return hour + 12
    if part == "noon" and 1 <= hour <= 6:  # "middag kl 1"
        return hour + 12
    if part == "night":
        return hour + 12 if 8 <= hour <= 11 else (0 if hour == 12 else hour)
    if part is None and 1 <= hour <= 7:  # visits at 3 are at 15, not at night
        return hour + 12
    return hour


def _range_minutes(start: _Clock, end: _Clock, part: str | None) -> int | None:
    """Minutes from ``start`` to ``end`` ("kl 6-8" runs 18 to 20), None if it runs backwards."""
    begins = _clock_hour(start, part) * 60 + start.minute
    ends = _clock_hour(end, part) * 60 + end.minute
    if ends <= begins and not end.exact and ends + 12 * 60 > begins:
        ends += 12 * 60
    minutes = ends - begins
    return minutes if 0 < minutes <= LONGEST_DURATION_MINUTES else None


def _contact_mode(modes: set[str]) -> str | None:
    """One contact mode, or None when none or several different ones were named."""
    kinds = set(modes)
    if "call" in kinds:
        kinds.discard("call")
        if "video" not in kinds:
            kinds.add("voice")
    return kinds.pop() if len(kinds) == 1 else None


# --- The public function ---------------------------------------------------------


def parse_booking(text: str, now: datetime, zone: str = "Europe/Copenhagen") -> BookingRequest:
    """Read a booking request in everyday Danish or English.

    ``now`` must be timezone-aware; the words are read as wall-clock time in ``zone``.
    Returns a ``BookingRequest`` whose ``problem`` says why there is no ``when``:
    "past", "unparseable" or "ask_time" (a day without a time).
    """
    return parse_booking_said(text, now, zone)[0]


@dataclass(frozen=True)
class Said:
    """Which kinds of words a text named its time with."""

    day: bool  # a weekday, a date, a named day, "i morgen"
    clock: bool  # a clock time that says it is one: "kl 14", "halv tre", "2pm", "10.30"
    relative: bool  # "om en time", "in 2 hours"


def parse_booking_said(
    text: str, now: datetime, zone: str = "Europe/Copenhagen"
) -> tuple[BookingRequest, Said]:
    """:func:`parse_booking`, and which kinds of words the time was named with."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    found = _Reader(_tokenize(text)).read()
    said = Said(
        day=found.day_references() > 0 or found.weekday is not None,
        clock=found.clock is not None and not found.loose_clock,
        relative=found.relative is not None,
    )
    return _resolve(found, now, zone), said


def _resolve(found: _Findings, now: datetime, zone: str) -> BookingRequest:
    tz = ZoneInfo(zone)
    local_now = now.astimezone(tz)

    duration = found.duration or DEFAULT_DURATION_MINUTES
    if found.clock is not None and found.until is not None:
        ranged = _range_minutes(found.clock, found.until, found.part)
        if ranged is None or (found.duration is not None and found.duration != ranged):
            found.broken = True
        else:
            duration = ranged
    mode = _contact_mode(found.modes)

    def answer(
        when: datetime | None, problem: str | None, day: date | None = None
    ) -> BookingRequest:
        return BookingRequest(when, found.weekly, duration, mode, problem, day)

    unparseable = BookingRequest(None, False, DEFAULT_DURATION_MINUTES, None, UNPARSEABLE)
    if found.broken or found.day_references() > 1:
        return unparseable

    if found.relative is not None:
        # Elapsed time: counted in UTC so an hour is an hour across a clock change.
        if found.clock or found.part or found.day_references() or found.weekday is not None:
            return unparseable  # "om en time i morgen kl 10" says two different things
        when = (local_now.astimezone(UTC) + found.relative).astimezone(tz)
        when = when.replace(second=0, microsecond=0)
        return answer(None, PAST) if when <= local_now else answer(when, None)

    today = local_now.date()
    day: date | None = None
    if found.date is not None:
        year, month, day_number = found.date
        if year is None:
            day = _next_date(today, month, day_number)
        else:
            try:
                day = date(year, month, day_number)
            except ValueError:
                day = None
        if day is None:
            return unparseable  # 31/11, 32/13, 29/2-2027
    elif found.day_of_month is not None:
        day = _next_day_of_month(today, found.day_of_month)
        if day is None:
            return unparseable
    elif found.day_offset is not None:
        day = today + timedelta(days=found.day_offset)
    elif found.relative_days is not None:
        day = today + timedelta(days=found.relative_days)
    elif found.named_day is not None:
        day = named_days.next_named_day(found.named_day, today)
        if day is None:
            return unparseable

    if found.weekday is not None:
        weekday_day = _next_weekday(today, found.weekday, found.next_week)
        if day is None:
            day = weekday_day
        elif day.weekday() != found.weekday:
            return unparseable  # "onsdag den 1. december" when the 1st is a Tuesday
    elif found.next_week:
        return unparseable  # "i næste uge" names no day

    hour: int | None = None
    minute = 0
    if found.clock is not None:
        hour, minute = _clock_hour(found.clock, found.part), found.clock.minute
    elif found.part is not None:
        hour = _PART_HOURS[found.part]

    if hour is None:
        if day is None:
            return unparseable
        if day < today:
            return answer(None, PAST)
        return answer(None, ASK_TIME, day)

    at = time(hour, minute)
    if day is None:
        if found.weekly:
            return unparseable  # every week, but on which day?
        when = _wall_time(today, at, tz)
        if when <= local_now:  # a time alone is the next such time
            when = _wall_time(today + timedelta(days=1), at, tz)
        return answer(when, None)

    when = _wall_time(day, at, tz)
    if when <= local_now:
        return answer(None, PAST)
    return answer(when, None)
