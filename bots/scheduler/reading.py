"""Read a visit's time as people type it, and notice one named plainly in chat.

Pure: no network, no database, no clock of its own. :mod:`timeparse` reads the words
it knows and skips the rest; skipping a mistyped "torsdg" would book today. Here a
word the reader does not know, but that is near a day, month, part-of-day, time or
named-day word (:func:`timeparse.time_words`, by :mod:`connec.spelling`), is

- read as that word when the match is clear ("torsdg" is torsdag, "imorgn" i morgen),
- or the reading it would give is returned as a question for the person ("Mente du
  torsdag den 3. december kl. 14.00?"), never booked without their yes.

An ordinary word that looks like a time word ("Morten", "klokke") is left alone,
unless the text gives a time but names no day without it: then the bot asks rather
than quietly taking the next such time. Words far from every time word (names, places,
"på video") are skipped as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from bots.scheduler.timeparse import (
    ASK_TIME,
    UNPARSEABLE,
    BookingRequest,
    known_words,
    parse_booking,
    parse_booking_said,
    time_words,
)
from connec.spelling import Guess, Vocabulary, clear_distance

_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class Reading:
    """A booking as read, and what to ask first when a typo was not clear."""

    request: BookingRequest  # the words as read, clear typos mended
    ask: BookingRequest | None  # book only after a yes to "Mente du …?" about this
    mended: tuple[tuple[str, str], ...] = ()  # (as typed, read as), the clear ones

    @property
    def quiet(self) -> bool:
        """Nothing to ask: the request is what the person meant, as far as can be told."""
        return self.ask is None


@cache
def _vocabulary() -> Vocabulary:
    return Vocabulary(time_words())


@cache
def _known() -> frozenset[str]:
    return known_words()


def _rewrite(text: str, words: Mapping[tuple[int, int], str]) -> str:
    """The text with the words at these spans replaced."""
    out, last = [], 0
    for (start, end), word in sorted(words.items()):
        out.append(text[last:start])
        out.append(word)
        last = end
    out.append(text[last:])
    return "".join(out)


def _same_reading(
    text: str,
    span: tuple[int, int],
    guess: Guess,
    fixed: dict[tuple[int, int], str],
    now: datetime,
    zone: str,
) -> bool:
    """Whether every equally near word gives the same time ("tirsdagn": tirsdag or tirsdagen)."""
    readings = {
        parse_booking(_rewrite(text, {**fixed, span: word}), now, zone) for word in guess.words
    }
    return len(readings) == 1


def read_booking(text: str, now: datetime, zone: str = "Europe/Copenhagen") -> Reading:
    """Read a booking as typed: clear typos mended, unclear ones turned into a question."""
    lower = text.lower()
    vocabulary, known = _vocabulary(), _known()
    clear: dict[tuple[int, int], str] = {}
    unsure: dict[tuple[int, int], str] = {}
    weak: dict[tuple[int, int], str] = {}
    guesses: dict[tuple[int, int], Guess] = {}
    for match in _WORD.finditer(lower):
        word, span = match.group(), match.span()
        if word in known:
            continue
        spelled = vocabulary.exact(word)  # "lordag", "loerdag", "lrdag" are lørdag
        if spelled is not None:
            clear[span] = spelled
            continue
        guess = vocabulary.guess(word)
        if guess is None:
            continue
        guesses[span] = guess
        if guess.clear:
            clear[span] = guess.word
        elif guess.ordinary:
            weak[span] = guess.word
        else:
            unsure[span] = guess.word
    # Equally near words that all give the same time are as good as one.
    for span, word in list(unsure.items()):
        guess = guesses[span]
        if guess.distance <= min(clear_distance(len(w)) for w in guess.words) and _same_reading(
            lower, span, guess, clear, now, zone
        ):
            clear[span] = word
            del unsure[span]

    request, said = parse_booking_said(_rewrite(lower, clear), now, zone)
    mended = tuple((lower[s:e], w) for (s, e), w in sorted(clear.items()) if lower[s:e] != w)
    ask: BookingRequest | None = None
    if unsure:
        # Of equally near words, ask about the likeliest slip that changes the time.
        for span in unsure:
            for word in guesses[span].words:
                maybe = parse_booking(_rewrite(lower, {**clear, **unsure, span: word}), now, zone)
                if maybe != request and maybe.problem != UNPARSEABLE:
                    unsure[span] = word
                    break
        maybe = parse_booking(_rewrite(lower, {**clear, **unsure}), now, zone)
        if maybe != request:
            ask = maybe
    # An ordinary word near a time word only counts where the text gives a time but
    # names no day, and then only as a question: "i morten kl 14" is asked about, not
    # booked today.
    if weak and not said.day and request.problem is None:
        maybe, maybe_said = parse_booking_said(
            _rewrite(lower, {**clear, **unsure, **weak}), now, zone
        )
        if maybe_said.day and maybe != request and maybe.problem in (None, ASK_TIME):
            ask = maybe
    if ask is not None and ask.problem == UNPARSEABLE:
        ask = None  # a question about words that still make no time helps nobody
    return Reading(request, ask, mended)


# --- A day and a time named in chat -------------------------------------------------------

# Words that make a day and a time in chat an arrangement between the two of them.
_ASKING = (
    "skal vi", "kan vi", "vil du", "kan du", "har du tid", "passer det", "passer det dig",
    "hvad med", "hvad siger du til", "lad os", "vi ses", "ses vi", "vi snakkes", "snakkes vi",
    "vi tales ved", "vi høres", "høres vi", "shall we", "can we", "could we", "should we",
    "how about", "what about", "are you free", "would you", "can you", "could you",
    "does that suit", "does it suit", "works for you", "let's", "lets", "see you", "talk to you",
    "speak to you", "ring mig", "ringer jeg", "jeg ringer", "call me", "i will call", "i'll call",
)  # fmt: skip
_MEETING_WORDS = frozenset(
    {"ses", "mødes", "snakkes", "tales", "høres", "besøg", "besøge", "besøget", "kaffe",
     "videoopkald", "video", "meet", "visit", "chat", "catch"}
)  # fmt: skip
# A day and a time that did not happen, or will not, or were someone else's.
_NOT_OURS = frozenset(
    {"ikke", "ik", "ikk", "aldrig", "desværre", "sidste", "forrige", "siden", "aflyst",
     "aflyse", "not", "can't", "cannot", "cant", "won't", "never", "last", "ago",
     "unfortunately", "cancelled", "canceled"}
)  # fmt: skip


def _phrases(words: Iterable[str]) -> str:
    return " " + " ".join(words) + " "


def chat_offer(text: str, now: datetime, zone: str = "Europe/Copenhagen") -> BookingRequest | None:
    """A visit time named clearly in ordinary chat ("Skal vi ses på torsdag kl 14?"), or None.

    Only exact words count here (a typo in chat is no arrangement), and only a day
    together with a clock time that is still ahead, in words that arrange something
    between the two ("skal vi", "vi ses", "kan du", "how about") and do not say it
    is not to be ("ikke", "sidste", "can't").
    """
    request, said = parse_booking_said(text, now, zone)
    if request.problem is not None or request.when is None:
        return None
    if not (said.day and said.clock) or said.relative:
        return None
    words = [w.replace("’", "'") for w in re.findall(r"[\w'’]+", text.lower())]
    if _NOT_OURS.intersection(words):
        return None
    joined = _phrases(words)
    if not (_MEETING_WORDS.intersection(words) or any(f" {p} " in joined for p in _ASKING)):
        return None
    return request
