"""People type on tablets: a typo never silently moves a visit, and plain chat is left alone.

The sets live in ``tests/data`` (``booking-typos.tsv``, ``ordinary-chat.tsv``,
``interest-typos.tsv``); ``connec bench reading`` prints the same figures.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bots.scheduler.bench_reading import (
    NOW,
    booking_figures,
    chat_figures,
    interest_figures,
)
from bots.scheduler.reading import chat_offer, read_booking
from bots.scheduler.timeparse import parse_booking
from tests.bots.scheduler.test_timeparse import read_rows

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def at(day: int, month: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=COPENHAGEN)


def test_no_misspelled_booking_is_silently_read_as_another_time() -> None:
    figures = booking_figures()
    assert figures.total >= 150
    assert figures.silently_wrong == []
    # Most are read outright; the rest ask before anything is booked.
    assert figures.right + figures.asked + figures.not_understood == figures.total


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("torsdg kl 14", at(3, 12, 14)),
        ("i morgn kl 14", at(27, 11, 14)),
        ("imorn kl 14", at(27, 11, 14)),
        ("tomorow at 2pm", at(27, 11, 14)),
        ("tirsdga kl 10", at(1, 12, 10)),
        ("juleaften kl 15", at(24, 12, 15)),
        ("LØRDAG KL 10", at(28, 11, 10)),
        ("lordag kl 10", at(28, 11, 10)),
        ("sndag kl 11", at(29, 11, 11)),
        ("thrusday 3pm", at(3, 12, 15)),
    ],
)
def test_the_typos_from_the_issue_are_read_as_meant(typed: str, meant: datetime) -> None:
    reading = read_booking(typed, NOW)
    assert reading.ask is None
    assert reading.request.when == meant


def test_a_weekly_visit_with_a_typo_stays_weekly() -> None:
    reading = read_booking("hver mandg kl 14", NOW)
    assert reading.ask is None
    assert reading.request.weekly and reading.request.when == at(30, 11, 14)


@pytest.mark.parametrize(
    ("typed", "asked"),
    [
        ("trsdag kl 14", at(1, 12, 14)),  # tirsdag or torsdag: ask, never guess
        ("i morten kl 14", at(27, 11, 14)),  # an ordinary word, where no day was named
    ],
)
def test_an_unclear_typo_is_asked_about_before_anything_is_booked(
    typed: str, asked: datetime
) -> None:
    reading = read_booking(typed, NOW)
    assert reading.ask is not None and reading.ask.when == asked


def test_words_far_from_any_time_word_are_skipped_as_before() -> None:
    reading = read_booking("fredag kl 14 på video med Birthe fra Brønderslev", NOW)
    assert reading.quiet and reading.request.when == at(27, 11, 14)
    assert reading.request.contact_mode == "video"


def test_every_shared_phrase_reads_as_the_strict_reader_reads_it() -> None:
    for row in read_rows():
        now = datetime.fromisoformat(row.extra["now"]) if "now" in row.extra else NOW
        if now.tzinfo is None:
            now = now.replace(tzinfo=COPENHAGEN)
        reading = read_booking(row.phrase, now)
        assert reading.quiet, row.phrase
        assert reading.request == parse_booking(row.phrase, now), row.phrase


def test_ordinary_chat_is_neither_taken_for_a_typo_nor_offered_as_a_visit() -> None:
    figures = chat_figures()
    assert figures.sentences >= 200
    assert figures.false_alarms == []
    assert figures.false_offers == []


@pytest.mark.parametrize(
    ("said", "when"),
    [
        ("Skal vi ses på torsdag kl 14?", at(3, 12, 14)),
        ("Vi ses i morgen kl 10", at(27, 11, 10)),
        ("Hvad med fredag klokken halv tre?", at(27, 11, 14, 30)),
        ("How about Friday at 3pm?", at(27, 11, 15)),
        ("Kan du lørdag kl 11? Så ringer jeg", at(28, 11, 11)),
    ],
)
def test_a_day_and_a_time_arranged_in_chat_is_noticed(said: str, when: datetime) -> None:
    offer = chat_offer(said, NOW)
    assert offer is not None and offer.when == when


@pytest.mark.parametrize(
    "said",
    [
        "Min datter kommer lørdag kl 14",  # not the two of them
        "Jeg kan ikke torsdag kl 14",  # not to be
        "Skal vi ses i dag kl 9?",  # already past
        "Skal vi ses på torsdag?",  # no time
        "Skal vi ses kl 14?",  # no day
        "Skal vi ses om en time?",  # not a day and a time
        "Sidste torsdag kl 14 så vi hinanden",
        "Skal vi ses på torsdg kl 14?",  # a typo in chat is no arrangement
    ],
)
def test_what_is_not_a_clear_arrangement_is_not_offered(said: str) -> None:
    assert chat_offer(said, NOW) is None


def test_misspelled_interests_find_their_interest_and_nothing_unrelated() -> None:
    figures = interest_figures()
    assert figures.phrases >= 80
    assert figures.wrong == []  # precision: no unrelated interest found
    assert figures.recall >= 0.9
