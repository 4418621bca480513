"""The interest taxonomy, and understanding people's own words about their interests.

The taxonomy is data (``connec/data/interests.toml``): interests with a stable key,
a Danish and an English name, a group, and synonyms in both languages. People may
tick interests from it, or write freely ("min kolonihave, gamle Morris Minor-biler,
Kim Larsen, jazz"); :func:`understand_interests` maps the words onto taxonomy keys
and keeps whatever it cannot place as *personal interests* in the person's own
words, so the matchmaker can still notice two people who both wrote "Kim Larsen".

Matching, in order of trust: the exact words (lower-cased), then Danish Snowball
stems, then English Snowball stems. A stem shared by two interests (Danish "have"
garden and "havet" sea both stem to "hav") is ambiguous and not used; the exact
words still match. Before that, a word the taxonomy does not have but that is
clearly a typo of one of its words ("stikning", "krydsort", "klasisk") is read as
that word, with the same tolerance for typing as every reader in connec
(:mod:`connec.spelling`); an ordinary word is never taken for another.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from types import MappingProxyType

import snowballstemmer
from snowballstemmer.basestemmer import BaseStemmer

from connec.spelling import Vocabulary, clear_distance

TAXONOMY_PATH = Path(__file__).parent / "data" / "interests.toml"

_WORD = re.compile(r"\w+")
# Hard separators between interests. "&" is deliberately not one: it mostly sits
# inside names ("Simon & Garfunkel").
_PIECE_SEPARATOR = re.compile(r"[,;\n\r•·|]+")
# Soft separators: split a piece into interests unless a taxonomy phrase spans them
# ("rock and roll", "kryds og tværs").
_CONJUNCTIONS = frozenset({"og", "and", "samt", "eller", "or"})
# Words that carry no interest of their own. They never make a fragment "personal"
# on their own, and are left out of the form personal interests are compared by.
_FILLER = frozenset(
    {
        # Danish: possessives, articles, pronouns, "I like", small prepositions.
        "min", "mit", "mine", "din", "dit", "dine", "sin", "sit", "sine", "vores",
        "jeres", "deres", "hans", "hendes", "den", "det", "de", "en", "et", "at",
        "jeg", "vi", "kan", "godt", "gode", "lide", "elsker", "holder", "af", "meget",
        "gerne", "også", "med", "i", "på", "til", "for", "om", "fx", "f", "eks",
        "især", "specielt", "lidt", "mest", "alt", "slags", "interesseret",
        "interesse", "interesser",
        # "gamle Morris Minor-biler" and "Morris Minor" are the same interest.
        "gamle", "gammel", "gammelt", "old",
        "er", "som", "har", "alle", "mange", "ting",
        # English.
        "my", "our", "your", "his", "her", "their", "the", "a", "an", "to", "we",
        "like", "love", "enjoy", "really", "very", "also", "with", "in", "on", "of",
        "about", "especially", "mostly", "all", "kinds", "kind", "sort",
        "interested", "interest", "interests", "e", "g", "eg", "is", "are", "am", "m",
        "things", "stuff", "lots", "lot", "many",
    }
)  # fmt: skip
# Words stripped from the start of the words we show back ("min kolonihave" reads
# badly in "I kan begge lide ..."). Articles stay: "The Beatles" is a name.
_LEADING_DISPLAY_FILLER = frozenset(
    {
        "min", "mit", "mine", "vores", "jeg", "vi", "kan", "godt", "lide", "elsker",
        "at", "også", "gerne", "er", "interesseret", "i", "my", "our", "we", "like",
        "love", "enjoy", "really", "also", "to", "am", "m", "interested", "in",
    }
)  # fmt: skip


@dataclass(frozen=True)
class InterestGroup:
    """A group of related interests, e.g. "musik og dans"."""

    key: str
    da: str
    en: str

    def name(self, lang: str | None = "da") -> str:
        """The group's name as it reads inside a sentence, in ``lang``."""
        return self.en if lang == "en" else self.da

    def label(self, lang: str | None = "da") -> str:
        """The name with a capital first letter, for headings and check boxes."""
        return _capitalise(self.name(lang))


@dataclass(frozen=True)
class Interest:
    """One interest of the taxonomy. ``key`` is stable and stored in the database."""

    key: str
    group: str
    da: str
    en: str
    synonyms_da: tuple[str, ...] = ()
    synonyms_en: tuple[str, ...] = ()

    def name(self, lang: str | None = "da") -> str:
        """The interest's name as it reads inside a sentence, in ``lang``."""
        return self.en if lang == "en" else self.da

    def label(self, lang: str | None = "da") -> str:
        """The name with a capital first letter, for headings and check boxes."""
        return _capitalise(self.name(lang))

    def phrases(self) -> tuple[str, ...]:
        """Every way of naming this interest: key, names and synonyms."""
        return (self.key, self.da, self.en, *self.synonyms_da, *self.synonyms_en)


@dataclass(frozen=True, order=True)
class PersonalInterest:
    """An interest in a person's own words that the taxonomy does not cover (fully).

    ``text`` is what they wrote, for showing back to people; ``stem`` is the
    normalised form two people's interests are compared by.
    """

    stem: str
    text: str = field(compare=False)


@dataclass(frozen=True)
class InterestSet:
    """What a person is interested in: taxonomy keys plus personal interests."""

    keys: frozenset[str] = frozenset()
    personal: tuple[PersonalInterest, ...] = ()

    @property
    def stems(self) -> frozenset[str]:
        """The comparable forms of the personal interests."""
        return frozenset(p.stem for p in self.personal)

    def text_for(self, stem: str) -> str | None:
        """The person's own words for the personal interest with this ``stem``."""
        return next((p.text for p in self.personal if p.stem == stem), None)

    def __or__(self, other: InterestSet) -> InterestSet:
        """Both sets together, e.g. ticked interests plus free text."""
        return InterestSet(self.keys | other.keys, _unique(self.personal + other.personal))

    def __bool__(self) -> bool:
        return bool(self.keys or self.personal)


@dataclass(frozen=True)
class Taxonomy:
    """The loaded taxonomy with its lookup indexes (read-only)."""

    groups: Mapping[str, InterestGroup]
    interests: Mapping[str, Interest]
    exact: Mapping[tuple[str, ...], str]
    danish_stems: Mapping[tuple[str, ...], str]
    english_stems: Mapping[tuple[str, ...], str]
    longest_phrase: int


@cache
def _danish() -> BaseStemmer:
    return snowballstemmer.stemmer("danish")


@cache
def _english() -> BaseStemmer:
    return snowballstemmer.stemmer("english")


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(m.group().casefold() for m in _WORD.finditer(_nfc(text)))


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


# Stemming is most of the time it takes to understand someone's words, and a round
# reads everyone's: the same few thousand words are stemmed once.
@lru_cache(maxsize=65_536)
def _danish_stems(tokens: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(_danish().stemWords(list(tokens)))


@lru_cache(maxsize=65_536)
def _english_stems(tokens: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(_english().stemWords(list(tokens)))


def _unique(personal: Iterable[PersonalInterest]) -> tuple[PersonalInterest, ...]:
    """Personal interests without repeats by stem; the first wording wins."""
    seen: dict[str, PersonalInterest] = {}
    for interest in personal:
        seen.setdefault(interest.stem, interest)
    return tuple(seen.values())


def load_taxonomy(path: Path = TAXONOMY_PATH) -> Taxonomy:
    """Read and check a taxonomy file; raise ``ValueError`` saying what is wrong."""
    with path.open("rb") as file:
        raw = tomllib.load(file)
    groups = {
        key: InterestGroup(key=key, da=value["da"], en=value["en"])
        for key, value in raw.get("groups", {}).items()
    }
    interests: dict[str, Interest] = {}
    for key, value in raw.get("interests", {}).items():
        if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
            raise ValueError(f"interest key {key!r} must be lower-case ascii")
        if value.get("group") not in groups:
            raise ValueError(f"interest {key!r} has unknown group {value.get('group')!r}")
        if not value.get("da") or not value.get("en"):
            raise ValueError(f"interest {key!r} needs both a Danish and an English name")
        interests[key] = Interest(
            key=key,
            group=value["group"],
            da=value["da"],
            en=value["en"],
            synonyms_da=tuple(value.get("synonyms_da", ())),
            synonyms_en=tuple(value.get("synonyms_en", ())),
        )

    exact: dict[tuple[str, ...], str] = {}
    danish: dict[tuple[str, ...], set[str]] = {}
    english: dict[tuple[str, ...], set[str]] = {}
    for interest in interests.values():
        for phrase in interest.phrases():
            tokens = _tokens(phrase)
            if not tokens:
                raise ValueError(f"interest {interest.key!r} has an empty name or synonym")
            owner = exact.setdefault(tokens, interest.key)
            if owner != interest.key:
                raise ValueError(
                    f"{phrase!r} names both {owner!r} and {interest.key!r}; keep it in one"
                )
            danish.setdefault(_danish_stems(tokens), set()).add(interest.key)
            english.setdefault(_english_stems(tokens), set()).add(interest.key)

    def unambiguous(index: dict[tuple[str, ...], set[str]]) -> dict[tuple[str, ...], str]:
        return {stems: next(iter(keys)) for stems, keys in index.items() if len(keys) == 1}

    return Taxonomy(
        groups=MappingProxyType(groups),
        interests=MappingProxyType(interests),
        exact=MappingProxyType(exact),
        danish_stems=MappingProxyType(unambiguous(danish)),
        english_stems=MappingProxyType(unambiguous(english)),
        longest_phrase=max((len(tokens) for tokens in exact), default=1),
    )


@cache
def taxonomy() -> Taxonomy:
    """connec's taxonomy, read once per process."""
    return load_taxonomy()


def all_interests() -> tuple[Interest, ...]:
    """Every interest, in the order of the taxonomy file (grouped)."""
    return tuple(taxonomy().interests.values())


def groups() -> tuple[InterestGroup, ...]:
    """Every interest group, in the order of the taxonomy file."""
    return tuple(taxonomy().groups.values())


def interest(key: str) -> Interest | None:
    """The interest with this stable key, if the taxonomy has it."""
    return taxonomy().interests.get(key)


def interest_by_name(name: str) -> Interest | None:
    """The interest named exactly by a key, a Danish or English name, or a synonym.

    Case and punctuation do not matter ("Klassisk musik", "classical_music"), but
    nothing is stemmed or guessed: this is for imports, where a near miss should be
    reported rather than quietly mapped.
    """
    taxonomy_ = taxonomy()
    key = taxonomy_.exact.get(_tokens(name))
    return taxonomy_.interests[key] if key else None


def _lookup(taxonomy_: Taxonomy, tokens: tuple[str, ...]) -> str | None:
    exact = taxonomy_.exact.get(tokens)
    if exact or _FILLER.issuperset(tokens):
        # Filler alone names nothing, even if it stems like an interest ("slags").
        return exact
    return taxonomy_.danish_stems.get(_danish_stems(tokens)) or taxonomy_.english_stems.get(
        _english_stems(tokens)
    )


def _comparable(tokens: Iterable[str]) -> str:
    content = tuple(t for t in tokens if t not in _FILLER)
    return " ".join(_english_stems(_danish_stems(content)))


def personal_stem(text: str) -> str:
    """The form personal interests are compared by: content words, stemmed.

    "Kim Larsen", "kim larsens" and "min Kim Larsen" all give the same form.
    """
    return _comparable(_tokens(text))


def _display_text(text: str) -> str:
    """The person's words, minus a leading "min"/"my"/"jeg kan lide" and stray marks."""
    text = text.strip(" \t.:!?-–\"'()")
    while True:
        match = re.match(r"(\w+)\W+", text)
        if not match or match.group(1).casefold() not in _LEADING_DISPLAY_FILLER:
            return text
        text = text[match.end() :]


@cache
def _words_as_written() -> frozenset[str]:
    return frozenset(t for phrase in taxonomy().exact for t in phrase)


@cache
def _taxonomy_words() -> Vocabulary:
    """Every word of every name and synonym, to read typos of them."""
    return Vocabulary(t for t in _words_as_written() if len(t) >= 4)


@lru_cache(maxsize=65_536)
def _mended(token: str) -> str:
    """A word as typed, or the taxonomy word it clearly is a typo of.

    Remembered: a round reads every person's own words, and people share words.
    """
    words = _taxonomy_words()
    if token in _FILLER or token in _words_as_written() or len(token) < 4 or token.isdecimal():
        return token
    spelled = words.exact(token)  # "haekling", "frimaerker"
    if spelled is not None:
        return spelled
    guess = words.guess(token)
    if guess is None or guess.ordinary:
        return token
    # Equally near forms of one word ("frimærker", "frimærke") are as good as one.
    one_word = len({_danish().stemWord(w) for w in guess.words}) == 1
    near = guess.distance <= min(clear_distance(len(w)) for w in guess.words)
    return guess.word if guess.clear or (one_word and near) else token


def _understand_piece(taxonomy_: Taxonomy, piece: str) -> tuple[set[str], list[PersonalInterest]]:
    words = list(_WORD.finditer(piece))
    tokens = tuple(_mended(m.group().casefold()) for m in words)
    consumed = [False] * len(tokens)
    keys: set[str] = set()

    # Longest phrase first, left to right, so "kryds og tværs" beats "kryds".
    start = 0
    while start < len(tokens):
        for length in range(min(taxonomy_.longest_phrase, len(tokens) - start), 0, -1):
            key = _lookup(taxonomy_, tokens[start : start + length])
            if key:
                keys.add(key)
                consumed[start : start + length] = [True] * length
                start += length
                break
        else:
            start += 1

    # What is left, split at the conjunctions no phrase used, is personal if it has
    # a word of its own. The whole fragment is kept in the person's words, even when
    # part of it also matched ("gamle Morris Minor-biler" is about cars, and more);
    # it is compared by the words the taxonomy did not place ("morris minor").
    personal: list[PersonalInterest] = []
    fragment: list[int] = []
    for index in [*range(len(tokens)), None]:
        if index is not None and not (tokens[index] in _CONJUNCTIONS and not consumed[index]):
            fragment.append(index)
            continue
        stem = _comparable(tokens[i] for i in fragment if not consumed[i])
        if stem:
            text = _display_text(piece[words[fragment[0]].start() : words[fragment[-1]].end()])
            personal.append(PersonalInterest(stem=stem, text=text))
        fragment = []
    return keys, personal


def understand_interests(words: Iterable[str] | str) -> InterestSet:
    """Map a person's own words about their interests onto the taxonomy.

    ``words`` is free text ("min kolonihave, Kim Larsen og jazz") or a list of such
    texts (or of ticked taxonomy keys). Interests are separated by commas,
    semicolons, new lines, and "og"/"and"/"samt"/"eller"/"or". Recognised interests
    become taxonomy keys; the rest are kept as personal interests, with the
    person's wording for display and a stemmed form for comparing.
    """
    texts = [words] if isinstance(words, str) else list(words)
    taxonomy_ = taxonomy()
    keys: set[str] = set()
    personal: list[PersonalInterest] = []
    for text in texts:
        for piece in _PIECE_SEPARATOR.split(_nfc(text)):
            piece_keys, piece_personal = _understand_piece(taxonomy_, piece)
            keys |= piece_keys
            personal += piece_personal
    return InterestSet(keys=frozenset(keys), personal=_unique(personal))


def interests_from_keys(keys: Iterable[str]) -> InterestSet:
    """An interest set of taxonomy keys only; unknown keys raise ``KeyError``."""
    wanted = frozenset(keys)
    unknown = sorted(wanted - taxonomy().interests.keys())
    if unknown:
        raise KeyError(f"no interest with key {unknown[0]!r}")
    return InterestSet(keys=wanted)
