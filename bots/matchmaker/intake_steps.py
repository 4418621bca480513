"""The intake dialogue as plain data: the questions, understanding the answers, and
where a person is. No Matrix, no database: ``intake.py`` stores and sends.

A person answers one question at a time, by number or in their own words, in
Danish or English. "tilbage"/"back" goes to the previous question, "stop" stops,
"ok" keeps what is already there, and at the end a summary waits for "ja" (or the
number of a part to change). Changing one part later (``!ret``) runs the same
questions for that part only.

The whole state is a JSON-able :class:`State`, stored after every answer; the
words a person reads are in templates (``intake_ask_<step>.html`` and friends) and
the ``matchmaker_intake`` catalog.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any

from babel import Locale
from babel.lists import format_list

from bots.common.commands import fold
from connec.i18n import gettext, ngettext, normalise_language
from connec.interests import all_interests, groups, interest, understand_interests
from connec.people import (
    CONTACT_MODES,
    DAYS,
    MAX_CAPACITY,
    MIN_CAPACITY,
    PARTS_OF_DAY,
    SLOTS,
)
from connec.profile import check
from connec.spelling import Vocabulary, clear_distance
from connec.timezones import DEFAULT_ZONE, zone_from_words

DOMAIN = "matchmaker_intake"

ROLES = ("citizen", "volunteer", "peer")
# The questions, in the order they are asked.
STEPS = (
    "role",
    "name",
    "birth_year",
    "gender",
    "place",
    "languages",
    "interests",
    "about",
    "contact_modes",
    "availability",
    "partner_gender",
    "age_range",
    "near_me",
    "capacity",
)
CONFIRM = "confirm"
DONE = "done"
STOPPED = "stopped"

# Which Person fields each question fills.
STEP_FIELDS: Mapping[str, tuple[str, ...]] = {
    "name": ("display_name",),
    "birth_year": ("birth_year",),
    "gender": ("gender",),
    # "Near me" needs a postcode, so a place without one also clears that wish.
    "place": ("postcode", "municipality", "near_me", "timezone"),
    "languages": ("languages",),
    "interests": ("interest_keys", "interest_words"),
    "about": ("about",),
    "contact_modes": ("contact_modes",),
    "availability": ("availability",),
    "partner_gender": ("partner_gender",),
    "age_range": ("age_min", "age_max"),
    "near_me": ("near_me",),
    "capacity": ("capacity",),
}
PROFILE_FIELDS = tuple(dict.fromkeys(name for fields in STEP_FIELDS.values() for name in fields))


@dataclass(frozen=True)
class Part:
    """A part of a profile a person can see and change on its own (``!ret tider``)."""

    key: str
    steps: tuple[str, ...]
    da: tuple[str, ...]
    en: tuple[str, ...]
    volunteers_only: bool = False


PARTS = (
    Part("name", ("name",), ("navn",), ("name",)),
    Part("birth_year", ("birth_year",), ("fødselsår", "alder", "født"), ("birth-year", "age")),
    Part("gender", ("gender",), ("køn",), ("gender",)),
    Part("place", ("place",), ("bopæl", "sted", "postnummer", "by"), ("place", "postcode")),
    Part("languages", ("languages",), ("sprog",), ("languages", "language")),
    Part("interests", ("interests",), ("interesser", "interesse"), ("interests", "interest")),
    Part("about", ("about",), ("om-mig", "om"), ("about", "about-me")),
    Part("contact", ("contact_modes",), ("kontakt", "kontaktform"), ("contact",)),
    Part("times", ("availability",), ("tider", "tid", "hvornår"), ("times", "time", "when")),
    Part(
        "wishes",
        ("partner_gender", "age_range", "near_me"),
        ("ønsker", "ven", "besøgsven"),
        ("wishes", "preferences", "friend"),
    ),
    Part("capacity", ("capacity",), ("antal",), ("capacity", "number"), volunteers_only=True),
)


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", fold(text))


def _whole(text: str) -> str:
    """A whole message folded for comparing with a word list ("Stop!" is "stop")."""
    return " ".join(_tokens(text)) or fold(text).strip()


def _w(words: str) -> tuple[str, ...]:
    """A word list written as "ja|jo|yes", so long lists stay readable."""
    return tuple(words.split("|"))


def _folded(words: str) -> frozenset[str]:
    """Whole-message words, folded as :func:`_whole` folds what people write."""
    return frozenset(_whole(word) for word in _w(words))


# Whole-message words that always work, whatever the question.
STOP_WORDS = _folded("stop|stopp|afbryd|annuller|cancel|quit")
BACK_WORDS = _folded("tilbage|back|forrige|previous|go back|gå tilbage")
KEEP_WORDS = _folded("ok|okay|ja|yes|behold|keep|samme|same|uændret|unchanged")
YES_WORDS = _folded(
    "ja|jo|yes|y|ok|okay|gem|save|ja tak|yes please|det er rigtigt|rigtigt|korrekt|correct"
    "|right|fint|fine|👍"
)
NO_WORDS = _folded("nej|no|n|nej tak|no thanks|forkert|wrong")
SKIP_WORDS = _folded(
    "spring over|skip|-|nej tak|no thanks|ingenting|nothing|ved ikke|don't know|dont know|pass"
)
SHOW_ALL_WORDS = _folded("alle|all|liste|list|flere|more|vis alle|show all|hele listen")

# Interests offered by number; the rest are a word away ("vis alle" shows them all).
FEATURED_INTERESTS = _w(
    "art|theatre|music|jazz|danish_songs|gardening|nature|walking|knitting|woodworking"
    "|cooking|baking|history|genealogy|travel|dogs|cats|cycling|watching_sport|reading"
    "|card_games|crosswords|films|grandchildren|church|current_affairs"
)
# Languages offered by number; any other ISO 639-1 language can be written by name.
FEATURED_LANGUAGES = _w("da|en|de|sv|no|fr|es|pl|uk|ar|tr|fa")

_FILLER = frozenset(
    fold(w)
    for w in (
        # Danish
        "jeg", "er", "en", "et", "og", "eller", "samt", "gerne", "helst", "kan", "godt",
        "lidt", "også", "både", "taler", "vil", "har", "med", "om", "på", "i", "til",
        "hver", "kl", "mest", "nok", "tak", "de", "den", "det", "af", "som", "mig",
        "smule", "flydende", "sige", "mit", "min", "nummer", "vælger", "tror",
        # English
        "i", "am", "a", "an", "and", "or", "the", "on", "in", "at", "every", "some",
        "bit", "little", "speak", "fluent", "also", "both", "would", "like", "prefer",
        "with", "to", "of", "my", "me", "number", "choose", "please", "mostly", "can",
    )
)  # fmt: skip
_HARD_SEPARATORS = re.compile(r"[,;\n\r.•·|/]+")


def _(lang: str, message: str, **values: object) -> str:
    return gettext(lang, DOMAIN, message, **values)


# Plain data ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Why an answer was not understood, for a kind explanation (``intake_problem.html``)."""

    code: str
    values: Mapping[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, **self.values}


@dataclass(frozen=True)
class Message:
    """One message to send: a template and its values (JSON-able, so it can be stored)."""

    template: str
    values: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"template": self.template, "values": self.values}


@dataclass
class State:
    """Where a person is in the intake (``kind="intake"``) or in changing one part (``"edit"``).

    ``answers`` holds Person field values by field name; ``queue`` the questions still
    to come (``"confirm"`` last for an intake); ``history`` the questions answered,
    for "tilbage".
    """

    kind: str
    step: str
    role: str | None
    answers: dict[str, Any] = field(default_factory=dict)
    queue: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    part: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The state as JSON-able data, for the ``Dialogue`` table."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> State:
        """A state stored with :meth:`to_json` (extra keys are ignored)."""
        return cls(
            kind=str(data.get("kind", "intake")),
            step=str(data.get("step", "")),
            role=data.get("role"),
            answers=dict(data.get("answers") or {}),
            queue=list(data.get("queue") or []),
            history=list(data.get("history") or []),
            part=data.get("part"),
        )


@dataclass
class Outcome:
    """What an answer led to: the new state, what to say, and what to store.

    ``effect``: None (just the next question), ``"role"`` (the person said who they
    are), ``"save"`` (write ``fields`` to the profile), ``"stopped"`` (an intake put
    aside, to continue later) or ``"cancelled"`` (a change abandoned).
    """

    state: State
    messages: list[Message]
    effect: str | None = None
    fields: tuple[str, ...] = ()


# Vocabulary ----------------------------------------------------------------------------------


def _phrases(words: Iterable[str]) -> list[tuple[str, ...]]:
    return [tuple(_tokens(word)) for word in words if _tokens(word)]


def _vocabulary(entries: Mapping[Any, Iterable[str]]) -> dict[tuple[str, ...], Any]:
    vocabulary: dict[tuple[str, ...], Any] = {}
    for value, words in entries.items():
        for phrase in _phrases(words):
            vocabulary[phrase] = value
    return vocabulary


@cache
def _near_words(step: str) -> Vocabulary:
    """The one-word answers of a step, to read typos of them ("tirsdga", "englesk")."""
    return Vocabulary(p[0] for p in _vocabularies()[step] if len(p) == 1 and len(p[0]) >= 4)


def _mended(token: str, step: str | None, vocabulary: Mapping[tuple[str, ...], Any]) -> str:
    """A word as typed, or the answer word it clearly is a typo of (the summary at the
    end shows what was understood, so a clear typo is read rather than refused)."""
    if step is None or (token,) in vocabulary or token in _FILLER or _is_number(token):
        return token
    near = _near_words(step)
    guess = near.guess(token)
    if guess is None or guess.ordinary:
        return token
    values = {vocabulary.get((w,)) for w in guess.words}
    close = guess.distance <= min(clear_distance(len(w)) for w in guess.words)
    return guess.word if guess.clear or (len(values) == 1 and close) else token


def _scan(
    tokens: Sequence[str], vocabulary: Mapping[tuple[str, ...], Any], step: str | None = None
) -> tuple[list[Any], list[str]]:
    """Left to right, longest phrase first: the values named, and the words not understood.
    With ``step``, a clear typo of one of that step's words counts as the word."""
    tokens = [_mended(t, step, vocabulary) for t in tokens]
    found: list[Any] = []
    unknown: list[str] = []
    longest = max((len(phrase) for phrase in vocabulary), default=1)
    index = 0
    while index < len(tokens):
        for length in range(min(longest, len(tokens) - index), 0, -1):
            phrase = tuple(tokens[index : index + length])
            if phrase in vocabulary:
                found.append(vocabulary[phrase])
                index += length
                break
        else:
            if tokens[index] not in _FILLER:
                unknown.append(tokens[index])
            index += 1
    return found, unknown


ROLE_WORDS = {
    "citizen": _w("borger|citizen|ældre|senior|pensionist"),
    "volunteer": _w("frivillig|frivilligt|volunteer|være besøgsven|be a visiting friend"),
    "peer": _w("ligesindet|ligesindede|peer|ven med andre borgere"),
}
GENDER_WORDS = {
    "female": _w("kvinde|dame|kvindelig|pige|female|woman|lady"),
    "male": _w("mand|herre|mandlig|dreng|male|man|gentleman"),
    "other": _w("andet|anden|other|nonbinær|non binær|non binary|nonbinary"),
    "": _w(
        "vil ikke sige|vil helst ikke sige|ønsker ikke at svare|spring over|prefer not to say"
        "|rather not say|skip"
    ),
}
PARTNER_GENDER_WORDS = {
    "female": _w("kvinde|kvinder|dame|damer|female|woman|women|lady"),
    "male": _w("mand|mænd|herre|herrer|male|man|men"),
    "": _w(
        "lige meget|ligemeget|ligegyldigt|begge|begge dele|hvem som helst|any|anyone|either"
        "|both|doesn't matter|does not matter|no preference|don't mind|egal"
    ),
}
NEAR_WORDS = {
    "near": _w("nærheden|nær|tæt på|lokalt|near|nearby|close|local"),
    "anywhere": _w(
        "hvor som helst|hele landet|hele danmark|lige meget|ligemeget|ligegyldigt|anywhere"
        "|whole country|all of denmark|doesn't matter|does not matter"
    ),
}
MODE_WORDS = {
    "chat": _w("skrive|skriv|skrift|chat|chatte|beskeder|besked|tekst|write|writing|text|messages"),
    "voice": _w(
        "tale|snakke|ringe|opkald|telefon|lyd|taleopkald|voice|call|calls|phone|talk|talking"
        "|voice calls"
    ),
    "video": _w("video|videoopkald|video opkald|facetime|video calls|video call"),
    "all": _w("alle|alle tre|alt|all|all three|everything|lige meget"),
}
CAPACITY_WORDS = {1: _w("1|en|én|et|one"), 2: _w("2|to|two"), 3: _w("3|tre|three")}

_DAY_NAMES = {
    "mon": _w("mandag|man|monday|mon"),
    "tue": _w("tirsdag|tirs|tir|tuesday|tue|tues"),
    "wed": _w("onsdag|ons|wednesday|wed"),
    "thu": _w("torsdag|tors|tor|thursday|thu|thurs"),
    "fri": _w("fredag|fre|friday|fri"),
    "sat": _w("lørdag|lør|saturday|sat"),
    "sun": _w("søndag|søn|sunday|sun"),
}


def _day_forms(names: Sequence[str]) -> list[str]:
    danish = names[0]
    # "tirsdage", "tirsdagen", "tirsdagene", "tuesdays"
    return [
        *names,
        danish + "e",
        danish + "en",
        danish + "ene",
        *(name + "s" for name in names if name.endswith("day")),
    ]


AVAILABILITY_WORDS: dict[Any, tuple[str, ...]] = {
    **{("days", (day,)): tuple(_day_forms(names)) for day, names in _DAY_NAMES.items()},
    ("days", DAYS[:5]): _w("hverdage|hverdag|hverdagene|ugedage|weekdays|weekday"),
    ("days", DAYS[5:]): _w("weekend|weekenden|weekender|weekends"),
    ("days", DAYS): _w("alle dage|hver dag|dagligt|hele ugen|every day|daily|all week|any day"),
    ("parts", ("am",)): _w(
        "formiddag|formiddage|formiddagen|morgen|morgenen|morgener|morning|mornings|am"
    ),
    ("parts", ("pm",)): _w("eftermiddag|eftermiddage|eftermiddagen|afternoon|afternoons|pm"),
    ("parts", ("eve",)): _w("aften|aftener|aftenen|aftner|evening|evenings|eve"),
    ("parts", PARTS_OF_DAY): _w("hele dagen|all day|heldags|hele dage"),
    ("all", ()): _w(
        "når som helst|altid|hele tiden|any time|anytime|whenever|always|all the time|alle tider"
    ),
}


@cache
def _vocabularies() -> dict[str, dict[tuple[str, ...], Any]]:
    return {
        "role": _vocabulary(ROLE_WORDS),
        "gender": _vocabulary(GENDER_WORDS),
        "partner_gender": _vocabulary(PARTNER_GENDER_WORDS),
        "near_me": _vocabulary(NEAR_WORDS),
        "contact_modes": _vocabulary(MODE_WORDS),
        "capacity": _vocabulary(CAPACITY_WORDS),
        "availability": _vocabulary(AVAILABILITY_WORDS),
        "languages": _vocabulary(_language_names()),
    }


@cache
def _language_names() -> dict[str, tuple[str, ...]]:
    """Every ISO 639-1 language by its Danish and English names ("arabisk", "Arabic")."""
    danish, english = Locale("da").languages, Locale("en").languages
    names: dict[str, list[str]] = {}
    for code in sorted(set(danish) | set(english)):
        if len(code) == 2 and code.isalpha():
            names[code] = [n for n in (danish.get(code), english.get(code)) if n]
    # Words people use that Babel names differently.
    names["kl"].append("greenlandic")
    names["fa"].append("farsi")
    names["no"] += ["norwegian", "norsk"]
    names["en"] += ["engelsk", "english"]
    return {code: tuple(words) for code, words in names.items()}


def is_language_code(code: str) -> bool:
    """Whether ``code`` is an ISO 639-1 language code connec knows ("da", "ar")."""
    return code in _language_names()


def language_name(code: str, lang: str) -> str:
    """A language's name in ``lang`` ("arabisk" in Danish), or the code if unknown."""
    return Locale(normalise_language(lang)).languages.get(code, code)


# Understanding answers -------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    today_year: int
    role: str | None


Parser = Callable[[str, _Context], "dict[str, Any] | Problem"]


def _is_number(token: str) -> bool:
    """A number someone could mean (a choice, a year, a count): decimal digits, not
    thousands of them (``int()`` refuses more than 4,300)."""
    return token.isdecimal() and len(token) <= 9


def _numbers(tokens: Iterable[str]) -> list[int]:
    return [int(token) for token in tokens if _is_number(token)]


def _choose(text: str, step: str, options: Sequence[Any]) -> Any:
    """One option, by number (1-based in ``options`` order) or by a word naming it."""
    tokens = _tokens(text)
    found, _unknown = _scan([t for t in tokens if not _is_number(t)], _vocabularies()[step], step)
    for number in _numbers(tokens):
        if not 1 <= number <= len(options):
            return Problem("number_range", {"most": len(options)})
        found.append(options[number - 1])
    chosen = set(found)
    if len(chosen) == 1:
        return chosen.pop()
    if not chosen:
        return Problem("not_understood")
    return Problem("choose_one")


def _parse_role(text: str, context: _Context) -> dict[str, Any] | Problem:
    chosen = _choose(text, "role", ROLES)
    return chosen if isinstance(chosen, Problem) else {"role": chosen}


_NAME_PREFIX = re.compile(
    r"^\s*(jeg hedder|mit navn er|kald mig|du kan kalde mig|my name is|i am|i'm|call me)\s+",
    re.IGNORECASE,
)


def _parse_name(text: str, context: _Context) -> dict[str, Any] | Problem:
    name = _NAME_PREFIX.sub("", text).strip(" .!\"'")
    name = re.sub(r"\s+", " ", name)
    if name == name.lower():
        # "karen hansen" is how people type on a phone, not how they sign.
        name = " ".join(word[:1].upper() + word[1:] for word in name.split(" "))
    return {"display_name": name}


def _parse_birth_year(text: str, context: _Context) -> dict[str, Any] | Problem:
    found = re.search(r"\b(\d{4})\b", text)
    if found is None:
        return Problem("year")
    return {"birth_year": int(found.group(1))}


def _parse_gender(text: str, context: _Context) -> dict[str, Any] | Problem:
    if _whole(text) in SKIP_WORDS:
        return {"gender": None}
    chosen = _choose(text, "gender", ("female", "male", "other", ""))
    return chosen if isinstance(chosen, Problem) else {"gender": chosen or None}


_PLACE_FILLER = re.compile(
    r"\b(jeg bor i|jeg bor på|jeg bor|bor i|i live in|i live|postnummer|postnr|postcode|"
    r"post code|zip)\b",
    re.IGNORECASE,
)


def _parse_place(text: str, context: _Context) -> dict[str, Any] | Problem:
    if _whole(text) in SKIP_WORDS:
        return {"postcode": None, "municipality": None, "near_me": False}
    postcode = re.search(r"\b(\d{4})\b", text)
    if re.search(r"\d", re.sub(r"\b\d{4}\b", "", text)):
        return Problem("postcode")
    rest = _PLACE_FILLER.sub(" ", re.sub(r"\b\d{4}\b", " ", text))
    rest = re.sub(r"\s+", " ", rest).strip(" ,.;:-")
    if postcode is None and not rest:
        return Problem("postcode")
    if postcode is None:
        # A place abroad ("Berlin", "Spanien") also sets the clock times are shown on.
        zone = zone_from_words(rest)
        abroad = {"timezone": zone} if zone is not None and zone != DEFAULT_ZONE else {}
        return {"postcode": None, "municipality": rest, "near_me": False, **abroad}
    return {"postcode": postcode.group(1), "municipality": rest or None}


def _parse_languages(text: str, context: _Context) -> dict[str, Any] | Problem:
    codes: list[str] = []
    unknown: list[str] = []
    for piece in _HARD_SEPARATORS.split(text):
        tokens = _tokens(piece)
        if len(tokens) == 1 and is_language_code(tokens[0]):
            codes.append(tokens[0])  # "da", "ar"
            continue
        found, missing = _scan(
            [t for t in tokens if not _is_number(t)], _vocabularies()["languages"], "languages"
        )
        codes += found
        unknown += missing
        for number in _numbers(tokens):
            if not 1 <= number <= len(FEATURED_LANGUAGES):
                return Problem("number_range", {"most": len(FEATURED_LANGUAGES)})
            codes.append(FEATURED_LANGUAGES[number - 1])
    if unknown:
        return Problem("not_understood", {"words": " ".join(unknown)})
    if not codes:
        return Problem("empty")
    return {"languages": list(dict.fromkeys(codes))}


def _parse_interests(text: str, context: _Context) -> dict[str, Any] | Problem:
    keys: list[str] = []
    words: list[str] = []
    for piece in re.split(r"[,;\n\r]+", text):
        piece = piece.strip(" .!")
        tokens = _tokens(piece)
        if not tokens:
            continue
        if all(_is_number(t) or t in {"og", "and", "samt"} for t in tokens):
            for number in _numbers(tokens):
                if not 1 <= number <= len(FEATURED_INTERESTS):
                    return Problem("number_range", {"most": len(FEATURED_INTERESTS)})
                keys.append(FEATURED_INTERESTS[number - 1])
        else:
            words.append(piece)
    if not keys and not understand_interests(words):
        return Problem("empty_interests")
    return {
        "interest_keys": list(dict.fromkeys(keys)),
        "interest_words": list(dict.fromkeys(words)),
    }


def _parse_about(text: str, context: _Context) -> dict[str, Any] | Problem:
    if _whole(text) in SKIP_WORDS:
        return {"about": ""}
    return {"about": text.strip()}


def _parse_contact_modes(text: str, context: _Context) -> dict[str, Any] | Problem:
    tokens = _tokens(text)
    found, unknown = _scan(
        [t for t in tokens if not _is_number(t)], _vocabularies()["contact_modes"], "contact_modes"
    )
    for number in _numbers(tokens):
        if not 1 <= number <= len(CONTACT_MODES):
            return Problem("number_range", {"most": len(CONTACT_MODES)})
        found.append(CONTACT_MODES[number - 1])
    if unknown:
        return Problem("not_understood", {"words": " ".join(unknown)})
    modes = set(CONTACT_MODES) if "all" in found else set(found)
    if not modes:
        return Problem("empty")
    return {"contact_modes": [mode for mode in CONTACT_MODES if mode in modes]}


def parse_availability(text: str) -> list[str] | Problem:
    """Weekly slots from everyday words: "tirsdag formiddag, torsdag eftermiddag",
    "hverdage aften", "2 og 4 formiddag" (days by number, Monday is 1), "når som helst".

    Within a piece (between commas), the days named share the times of day named
    after (or before) them; a day alone means the whole day, a time of day alone
    means every day.
    """
    if _whole(text) in SKIP_WORDS:
        return []
    vocabulary = {**_vocabularies()["availability"], **_digit_days()}
    slots: set[str] = set()
    for piece in _HARD_SEPARATORS.split(text):
        tokens = _tokens(piece)
        if any(_is_number(t) and not 1 <= int(t) <= len(DAYS) for t in tokens):
            return Problem("day_number")
        found, unknown = _scan(tokens, vocabulary, "availability")
        if unknown:
            return Problem("not_understood", {"words": " ".join(unknown)})
        days: set[str] = set()
        parts: set[str] = set()
        last = ""
        for kind, names in found:
            if kind == "all":
                slots.update(SLOTS)
            elif kind == "days":
                if last == "parts" and days:
                    # "mandag formiddag tirsdag aften": a new day after a time starts anew.
                    slots.update(_slots(days, parts))
                    days, parts = set(), set()
                days.update(names)
            else:
                parts.update(names)
            last = kind
        slots.update(_slots(days, parts))
    if not slots:
        return Problem("empty_times")
    return [slot for slot in SLOTS if slot in slots]


def _slots(days: set[str], parts: set[str]) -> set[str]:
    """Days without a time of day are whole days; a time of day without days is every day."""
    if not days and not parts:
        return set()
    return {f"{day}-{part}" for day in days or set(DAYS) for part in parts or set(PARTS_OF_DAY)}


@cache
def _digit_days() -> dict[tuple[str, ...], Any]:
    return {(str(number),): ("days", (day,)) for number, day in enumerate(DAYS, start=1)}


def _parse_availability(text: str, context: _Context) -> dict[str, Any] | Problem:
    slots = parse_availability(text)
    return slots if isinstance(slots, Problem) else {"availability": slots}


def _parse_partner_gender(text: str, context: _Context) -> dict[str, Any] | Problem:
    chosen = _choose(text, "partner_gender", ("female", "male", ""))
    return chosen if isinstance(chosen, Problem) else {"partner_gender": chosen or None}


_ANY_AGE = _folded(
    "lige meget|ligemeget|ligegyldigt|alle aldre|any|any age|doesn't matter|does not matter"
    "|no preference"
)
_AT_LEAST = frozenset(("over", "fra", "mindst", "min", "above", "from", "least", "older"))
_AT_MOST = frozenset(("under", "højst", "hoejst", "max", "below", "most", "op", "up", "younger"))


def _parse_age_range(text: str, context: _Context) -> dict[str, Any] | Problem:
    whole = _whole(text)
    if whole in _ANY_AGE or whole in SKIP_WORDS:
        return {"age_min": None, "age_max": None}
    ages = [int(n) for n in re.findall(r"\d+", text)]
    tokens = set(_tokens(text))
    low: int | None
    high: int | None
    if len(ages) == 2:
        low, high = sorted(ages)
    elif len(ages) == 1 and (tokens & _AT_LEAST or text.strip().endswith("+")):
        low, high = ages[0], None
    elif len(ages) == 1 and tokens & _AT_MOST:
        low, high = None, ages[0]
    else:
        return Problem("age_range")
    return {"age_min": low, "age_max": high}


def _parse_near_me(text: str, context: _Context) -> dict[str, Any] | Problem:
    chosen = _choose(text, "near_me", ("near", "anywhere"))
    return chosen if isinstance(chosen, Problem) else {"near_me": chosen == "near"}


def _parse_capacity(text: str, context: _Context) -> dict[str, Any] | Problem:
    found, _unknown = _scan(_tokens(text), _vocabularies()["capacity"])
    numbers = set(found)
    if len(numbers) != 1:
        return Problem("capacity", {"low": MIN_CAPACITY, "high": MAX_CAPACITY})
    return {"capacity": numbers.pop()}


PARSERS: Mapping[str, Parser] = {
    "role": _parse_role,
    "name": _parse_name,
    "birth_year": _parse_birth_year,
    "gender": _parse_gender,
    "place": _parse_place,
    "languages": _parse_languages,
    "interests": _parse_interests,
    "about": _parse_about,
    "contact_modes": _parse_contact_modes,
    "availability": _parse_availability,
    "partner_gender": _parse_partner_gender,
    "age_range": _parse_age_range,
    "near_me": _parse_near_me,
    "capacity": _parse_capacity,
}


# Describing a profile in words -----------------------------------------------------------


def _day_name(lang: str, day: str) -> str:
    names = {
        "mon": _(lang, "Monday"),
        "tue": _(lang, "Tuesday"),
        "wed": _(lang, "Wednesday"),
        "thu": _(lang, "Thursday"),
        "fri": _(lang, "Friday"),
        "sat": _(lang, "Saturday"),
        "sun": _(lang, "Sunday"),
    }
    return names[day]


def _part_of_day_name(lang: str, part: str) -> str:
    names = {"am": _(lang, "morning"), "pm": _(lang, "afternoon"), "eve": _(lang, "evening")}
    return names[part]


def _mode_name(lang: str, mode: str) -> str:
    names = {"chat": _(lang, "writing"), "voice": _(lang, "voice calls"), "video": _(lang, "video")}
    return names.get(mode, mode)


def describe_availability(slots: Iterable[str], lang: str) -> str | None:
    """Slots in words, day by day: "tirsdag formiddag, torsdag hele dagen"."""
    chosen = set(slots)
    if not chosen:
        return None
    if chosen >= set(SLOTS):
        return _(lang, "any time")
    phrases = []
    for day in DAYS:
        parts = [part for part in PARTS_OF_DAY if f"{day}-{part}" in chosen]
        if not parts:
            continue
        if len(parts) == len(PARTS_OF_DAY):
            phrases.append(_(lang, "{day} all day", day=_day_name(lang, day)))
        else:
            named = format_list([_part_of_day_name(lang, p) for p in parts], locale=lang)
            phrases.append(_(lang, "{day} {parts}", day=_day_name(lang, day), parts=named))
    return "; ".join(phrases)


def describe_interests(keys: Iterable[str], words: Iterable[str], lang: str) -> str | None:
    """Interests as understood: taxonomy names, then the person's own words in quotes."""
    understood = understand_interests(list(words))
    all_keys = set(keys) | understood.keys
    names = [i.name(lang) for i in all_interests() if i.key in all_keys]
    names += [f"“{p.text}”" for p in understood.personal]
    return format_list(names, locale=lang) if names else None


def _describe_wishes(answers: Mapping[str, Any], lang: str) -> str | None:
    if not {"partner_gender", "age_min", "age_max", "near_me"} & answers.keys():
        return None
    filled = {"partner_gender": None, "age_min": None, "age_max": None, "near_me": False}
    filled.update(answers)
    return _(
        lang,
        "{who}, {age}, {where}",
        who=describe_step("partner_gender", filled, lang),
        age=describe_step("age_range", filled, lang),
        where=describe_step("near_me", filled, lang),
    )


def describe_step(step: str, answers: Mapping[str, Any], lang: str) -> str | None:
    """The answer to one question in words, or None if there is none yet."""
    value = answers.get(STEP_FIELDS[step][0]) if step in STEP_FIELDS else None
    if step == "name":
        return value or None
    if step == "birth_year":
        return str(value) if value else None
    if step == "gender":
        names = {"female": _(lang, "woman"), "male": _(lang, "man"), "other": _(lang, "other")}
        return names.get(value or "")
    if step == "place":
        text = " ".join(str(v) for v in (answers.get("postcode"), answers.get("municipality")) if v)
        return text or None
    if step == "languages":
        codes = answers.get("languages") or []
        return format_list([language_name(c, lang) for c in codes], locale=lang) if codes else None
    if step == "interests":
        return describe_interests(
            answers.get("interest_keys") or [], answers.get("interest_words") or [], lang
        )
    if step == "about":
        return value or None
    if step == "contact_modes":
        modes = answers.get("contact_modes") or []
        return format_list([_mode_name(lang, m) for m in modes], locale=lang) if modes else None
    if step == "availability":
        return describe_availability(answers.get("availability") or [], lang)
    if step == "partner_gender":
        if "partner_gender" not in answers:
            return None
        return {"female": _(lang, "a woman"), "male": _(lang, "a man")}.get(
            value or "", _(lang, "anyone")
        )
    if step == "age_range":
        low, high = answers.get("age_min"), answers.get("age_max")
        if low is not None and high is not None:
            return _(lang, "aged {low} to {high}", low=low, high=high)
        if low is not None:
            return _(lang, "aged {low} or more", low=low)
        if high is not None:
            return _(lang, "aged {high} or less", high=high)
        return _(lang, "of any age") if "age_min" in answers else None
    if step == "near_me":
        if "near_me" not in answers:
            return None
        return _(lang, "living near you") if value else _(lang, "anywhere in Denmark")
    if step == "capacity":
        if not value:
            return None
        return ngettext(lang, DOMAIN, "{n} citizen", "{n} citizens", int(value))
    return None


def part_label(part: str, lang: str) -> str:
    """What a part is called in ``lang`` ("Interesser")."""
    labels = {
        "name": _(lang, "Name"),
        "birth_year": _(lang, "Born"),
        "gender": _(lang, "Gender"),
        "place": _(lang, "Where you live"),
        "languages": _(lang, "Languages"),
        "interests": _(lang, "Interests"),
        "about": _(lang, "About you"),
        "contact": _(lang, "Keeping in touch by"),
        "times": _(lang, "Time for a chat"),
        "wishes": _(lang, "Your visiting friend"),
        "capacity": _(lang, "How many citizens"),
    }
    return labels[part]


def parts_for(role: str | None) -> tuple[Part, ...]:
    """The parts of a profile for someone in this role (capacity is for volunteers)."""
    return tuple(p for p in PARTS if not p.volunteers_only or role == "volunteer")


def find_part(word: str, role: str | None) -> Part | None:
    """The part a word or number names ("interesser", "interests", "6"), for this role."""
    parts = parts_for(role)
    folded = _whole(word).replace(" ", "-")
    if _is_number(folded):
        number = int(folded)
        return parts[number - 1] if 1 <= number <= len(parts) else None
    for part in parts:
        if folded in {fold(name) for name in (*part.da, *part.en, part.key)}:
            return part
    return None


def part_name(part: Part, lang: str) -> str:
    """The word to write after ``!ret`` for this part, in ``lang``."""
    return (part.en if normalise_language(lang) == "en" else part.da)[0]


def profile_lines(
    answers: Mapping[str, Any], role: str | None, lang: str, *, only: str | None = None
) -> list[dict[str, Any]]:
    """A profile as numbered lines (number, part word, label, text or None)."""
    lines = []
    for number, part in enumerate(parts_for(role), start=1):
        if only is not None and part.key != only:
            continue
        if part.key == "wishes":
            text = _describe_wishes(answers, lang)
        else:
            text = describe_step(part.steps[0], answers, lang)
        lines.append(
            {
                "n": number,
                "word": part_name(part, lang),
                "label": part_label(part.key, lang),
                "text": text,
            }
        )
    return lines


# The dialogue --------------------------------------------------------------------------------


def _applies(step: str, state: State) -> bool:
    if step == "capacity":
        return state.role == "volunteer"
    if step == "near_me":
        return bool(state.answers.get("postcode"))
    return True


def _advance(state: State) -> str | None:
    """Move to the next question that applies; None when there is none."""
    while state.queue:
        step = state.queue.pop(0)
        if step == CONFIRM or _applies(step, state):
            state.step = step
            return step
    return None


def _featured(lang: str) -> list[dict[str, Any]]:
    by_group: dict[str, list[dict[str, Any]]] = {}
    for number, key in enumerate(FEATURED_INTERESTS, start=1):
        found = interest(key)
        if found is not None:
            by_group.setdefault(found.group, []).append({"n": number, "name": found.name(lang)})
    return [
        {"group": group.label(lang), "items": by_group[group.key]}
        for group in groups()
        if group.key in by_group
    ]


def all_interests_message(lang: str) -> Message:
    """Every interest of the taxonomy by group, for "vis alle"."""
    listed = [
        {
            "group": group.label(lang),
            "names": ", ".join(i.name(lang) for i in all_interests() if i.group == group.key),
        }
        for group in groups()
    ]
    return Message("intake_all_interests.html", {"groups": listed})


def _position(state: State) -> tuple[int | None, int | None]:
    upcoming = [
        step
        for step in state.queue
        # "Near me" is counted while the place is still to come: it usually applies.
        if step != CONFIRM
        and (_applies(step, state) or (step == "near_me" and "place" in [state.step, *state.queue]))
    ]
    position = len([s for s in state.history if s != CONFIRM]) + 1
    return position, position + len(upcoming)


def question(
    state: State,
    lang: str,
    *,
    problem: Problem | None = None,
    noted: str | None = None,
    resumed: bool = False,
) -> Message:
    """The message asking the current question (or showing the summary to confirm)."""
    if state.step == CONFIRM:
        return Message(
            "intake_summary.html",
            {
                "lines": profile_lines(state.answers, state.role, lang),
                "role": state.role,
                "problem": problem.as_dict() if problem else None,
            },
        )
    current = describe_step(state.step, state.answers, lang) if state.step != "role" else None
    # Numbered only the first time through; a part changed from the summary is not.
    position, total = _position(state) if CONFIRM not in state.history else (None, None)
    values: dict[str, Any] = {
        "kind": state.kind,
        "role": state.role,
        "position": position,
        "total": total,
        "current": current,
        "problem": problem.as_dict() if problem else None,
        "noted": noted,
        "resumed": resumed,
        "can_go_back": bool(state.history) or state.kind == "edit",
    }
    if state.step == "interests":
        values["featured"] = _featured(lang)
    if state.step == "languages":
        values["languages"] = [
            {"n": n, "name": language_name(code, lang)}
            for n, code in enumerate(FEATURED_LANGUAGES, start=1)
        ]
    if state.step == "capacity":
        values["low"], values["high"] = MIN_CAPACITY, MAX_CAPACITY
    return Message(f"intake_ask_{state.step}.html", values)


def start_intake(role: str | None, answers: Mapping[str, Any], lang: str) -> tuple[State, Message]:
    """A new intake: every question that applies, then the summary."""
    steps = [s for s in STEPS if s != "role" or role not in ROLES]
    state = State(
        kind="intake",
        step="",
        role=role if role in ROLES else None,
        answers=dict(answers),
        queue=[*steps, CONFIRM],
    )
    _advance(state)
    return state, question(state, lang)


def start_edit(
    part: Part, role: str | None, answers: Mapping[str, Any], lang: str
) -> tuple[State, Message]:
    """Changing one part: its questions only, then it is saved."""
    state = State(
        kind="edit",
        step="",
        role=role,
        answers=dict(answers),
        queue=list(part.steps),
        part=part.key,
    )
    _advance(state)
    return state, question(state, lang)


# Whose answers are echoed back, because what was understood may surprise.
_NOTED_STEPS = frozenset({"languages", "interests", "availability"})


def answer(state: State, text: str, *, lang: str, today_year: int) -> Outcome:
    """What an answer does to a dialogue. ``state`` is not changed; a new one is returned."""
    state = State.from_json(state.to_json())
    word = _whole(text)

    if word in STOP_WORDS:
        if state.kind == "intake":
            return Outcome(state, [Message("intake_stopped.html")], effect="stopped")
        return Outcome(state, [Message("intake_cancelled.html")], effect="cancelled")

    if word in BACK_WORDS:
        if not state.history:
            if state.kind == "edit":
                return Outcome(state, [Message("intake_cancelled.html")], effect="cancelled")
            return Outcome(state, [question(state, lang, problem=Problem("first_question"))])
        state.queue.insert(0, state.step)
        state.step = state.history.pop()
        return Outcome(state, [question(state, lang)])

    if state.step == CONFIRM:
        return _confirm(state, text, lang)

    if state.step == "interests" and word in SHOW_ALL_WORDS:
        return Outcome(state, [all_interests_message(lang), question(state, lang)])

    has_current = state.step != "role" and describe_step(state.step, state.answers, lang)
    if word in KEEP_WORDS and has_current:
        parsed: dict[str, Any] | Problem = {}
    else:
        parsed = _judged(PARSERS[state.step](text, _Context(today_year, state.role)), today_year)
    if isinstance(parsed, Problem):
        return Outcome(state, [question(state, lang, problem=parsed)])

    effect: str | None = None
    if state.step == "role":
        state.role = parsed["role"]
        effect = "role"
    else:
        state.answers.update(parsed)
    noted = describe_step(state.step, state.answers, lang) if state.step in _NOTED_STEPS else None
    state.history.append(state.step)

    if _advance(state) is None:
        state.step = DONE
        saved = tuple(f for step in state.history for f in STEP_FIELDS.get(step, ()))
        lines = profile_lines(state.answers, state.role, lang, only=state.part)
        return Outcome(
            state, [Message("profile_saved.html", {"lines": lines})], effect="save", fields=saved
        )
    return Outcome(state, [question(state, lang, noted=noted)], effect=effect)


_UNDERSTOOD = {
    "choice": "not_understood",
    "language": "not_understood",
    "timezone": "not_understood",
}
"""The intake's problem for a profile's code, where the two differ."""


def _judged(parsed: dict[str, Any] | Problem, today_year: int) -> dict[str, Any] | Problem:
    """What an answer said, judged by :class:`connec.profile.Profile` as every door judges."""
    if isinstance(parsed, Problem) or not parsed:
        return parsed
    profile, problems = check(parsed, this_year=today_year)
    if profile is None:
        found = problems[0]
        return Problem(_UNDERSTOOD.get(found.code, found.code), found.values)
    return profile.fields()


def _confirm(state: State, text: str, lang: str) -> Outcome:
    word = _whole(text)
    if word in YES_WORDS:
        state.history.append(CONFIRM)
        state.step = DONE
        return Outcome(
            state,
            [Message("intake_saved.html", {"role": state.role})],
            effect="save",
            fields=PROFILE_FIELDS,
        )
    part = find_part(text, state.role)
    if part is None:
        code = "which_part" if word in NO_WORDS else "confirm"
        return Outcome(state, [question(state, lang, problem=Problem(code))])
    state.history.append(CONFIRM)
    state.queue = [*part.steps, CONFIRM]
    _advance(state)
    return Outcome(state, [question(state, lang)])


def answers_of(person: Any) -> dict[str, Any]:
    """A stored person's profile as dialogue answers (any object with Person's fields)."""
    return {name: _plain(getattr(person, name)) for name in PROFILE_FIELDS}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, list | tuple) else value
