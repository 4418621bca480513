"""How people type, and which known word they most likely meant.

Pure and shared by everything that reads people's words: command names, booking
times, intake answers and interests. Nothing here knows what the words mean; each
reader hands in its own vocabulary and decides what to do with a guess (read it,
ask "Mente du …?", or leave it).

Words are compared in several spellings at once (as typed, æ/ø/å as ae/oe/aa, as
a/o/a, or left out, accents dropped), by the optimal-string-alignment distance from
RapidFuzz: a wrong, dropped, doubled or extra letter and two letters swapped each
count one. A word that is itself an ordinary Danish or English word (wordfreq) is
never a clear typo of another: "aftale" is not "aften", "Morten" is not "morgen".
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

# A word at least this common (per billion words, log10: 3.0 is once per million) in
# Danish or English is an ordinary word, not a typo.
ORDINARY_ZIPF = 3.0
# Keys next to each other on a Danish keyboard: a wrong letter there is the likelier typo.
_KEYBOARD_ROWS = ("1234567890", "qwertyuiopå", "asdfghjklæø", "zxcvbnm")


_PLAIN = str.maketrans("æøå", "aoa")
_DROPPED = str.maketrans("", "", "æøå")


def fold(word: str) -> str:
    """Compare words the way people type them: case, accents and æøå as ae/oe/aa."""
    word = word.strip().lower()
    for a, b in (("æ", "ae"), ("ø", "oe"), ("å", "aa")):
        word = word.replace(a, b)
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def spellings(word: str, *, left_out: bool = True) -> frozenset[str]:
    """The ways a word is typed on a keyboard without (or with) æ, ø and å.

    ``left_out`` adds the word with its one æ, ø or å not typed at all; that is a
    spelling to recognise, not one to measure typos from ("ondag" is no søndag).
    """
    lower = unicodedata.normalize("NFC", word.strip().lower())
    plain = lower.translate(_PLAIN)
    dropped = lower.translate(_DROPPED)
    forms = {lower, fold(lower), fold(plain)}
    if left_out and dropped and len(dropped) == len(lower) - 1:
        forms.add(fold(dropped))  # one letter left out, not a word gutted
    return frozenset(forms)


@lru_cache(maxsize=8192)
def is_ordinary(word: str) -> bool:
    """Whether a word is common in Danish or English (so not a typo of another word)."""
    from wordfreq import zipf_frequency  # loaded on first use: its lists take a moment

    lower = word.strip().lower()
    return any(zipf_frequency(lower, lang) >= ORDINARY_ZIPF for lang in ("da", "en"))


def ask_distance(length: int) -> int:
    """How far a typed word may be from a known word of this length to be asked about."""
    if length < 4:
        return 0
    if length < 8:
        return 1
    if length < 11:
        return 2
    return 3


def clear_distance(length: int) -> int:
    """How far a typed word may be from a known word of this length to be read as it."""
    if length < 5:
        return 0  # "juni"/"juli", "fire"/"fine": too short to be sure
    if length < 9:
        return 1
    return 2


@cache
def _neighbours() -> dict[str, frozenset[str]]:
    near: dict[str, set[str]] = {}
    for row_index, row in enumerate(_KEYBOARD_ROWS):
        for col, key in enumerate(row):
            keys = near.setdefault(key, set())
            for other_row in _KEYBOARD_ROWS[max(0, row_index - 1) : row_index + 2]:
                keys.update(other_row[max(0, col - 1) : col + 2])
            keys.discard(key)
    return {key: frozenset(keys) for key, keys in near.items()}


def adjacent_slip(typed: str, known: str) -> bool:
    """One letter replaced by a key next to it ("tosdag" is not one, "torsfag" is)."""
    if len(typed) != len(known):
        return False
    differ = [(a, b) for a, b in zip(typed, known, strict=True) if a != b]
    return len(differ) == 1 and differ[0][0] in _neighbours().get(differ[0][1], frozenset())


def slip_rank(typed: str, known: str) -> int:
    """How likely a slip of the finger turns ``known`` into ``typed``, likeliest 0:
    a letter doubled ("morgeen"), a letter dropped or a key next to the right one,
    two letters swapped, anything else."""
    doubled = any(
        typed[i] == typed[i - 1] and typed[:i] + typed[i + 1 :] == known
        for i in range(1, len(typed))
    )
    if doubled:
        return 0
    dropped = any(known[:i] + known[i + 1 :] == typed for i in range(len(known)))
    if dropped or adjacent_slip(typed, known):
        return 1
    if len(typed) == len(known) and OSA.distance(typed, known) == 1 != sum(
        a != b for a, b in zip(typed, known, strict=True)
    ):
        return 2
    return 3


@dataclass(frozen=True)
class Guess:
    """What a typed word may have been.

    ``words`` are the known words at the smallest distance, the likeliest first;
    ``clear`` says that one of them is so close, and so much closer than any other,
    that it may be read without asking.
    """

    typed: str
    words: tuple[str, ...]
    distance: int
    clear: bool
    ordinary: bool  # the typed word is itself an ordinary word

    @property
    def word(self) -> str:
        return self.words[0]


class Vocabulary:
    """Known words, found again from the ways people mistype them."""

    def __init__(self, words: Iterable[str]) -> None:
        self._by_spelling: dict[str, str] = {}
        measured: dict[str, str] = {}
        for word in words:
            for form in spellings(word):
                self._by_spelling.setdefault(form, word)
            for form in spellings(word, left_out=False):
                measured.setdefault(form, word)
        self._measured = measured
        self._spellings = list(measured)

    def __contains__(self, typed: object) -> bool:
        return isinstance(typed, str) and self.exact(typed) is not None

    def __len__(self) -> int:
        return len(set(self._by_spelling.values()))

    def exact(self, typed: str) -> str | None:
        """The known word typed, in any of its spellings ("lrdag" is lørdag, but
        "løse" is not læse, though both are "lse" without their ø and æ)."""
        for form in spellings(typed, left_out=False):
            if form in self._by_spelling:
                return self._by_spelling[form]
        return None

    def guess(self, typed: str) -> Guess | None:
        """The known words a typed word may have been; None if it is one, or near none."""
        if not typed or self.exact(typed) is not None or not any(c.isalpha() for c in typed):
            return None
        best: dict[str, int] = {}
        for form in spellings(typed, left_out=False):
            cutoff = ask_distance(max(len(form), 4) + 2)
            for spelling, distance, _ in process.extract(
                form, self._spellings, scorer=OSA.distance, score_cutoff=cutoff, limit=None
            ):
                word = self._measured[spelling]
                # Measured against the known word's own length, typed either way.
                if distance <= ask_distance(len(spelling)) and distance < best.get(word, 99):
                    best[word] = int(distance)
        if not best:
            return None
        smallest = min(best.values())
        closest = [w for w, d in best.items() if d == smallest]
        lower = typed.strip().lower()
        closest.sort(key=lambda w: (min(slip_rank(f, fold(w)) for f in {lower, fold(lower)}), w))
        ordinary = is_ordinary(typed)
        clear = len(closest) == 1 and not ordinary and smallest <= clear_distance(len(closest[0]))
        return Guess(typed, tuple(closest), smallest, clear, ordinary)
