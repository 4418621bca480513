"""The small rules behind care after visits, quiet rooms and wellbeing figures (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bots.scheduler.booking import split_number
from bots.scheduler.checkin import read_score, sounds_worried
from bots.scheduler.dialogue import is_no, is_yes
from bots.scheduler.silence import NUDGE, RAISE, Quiet, verdict
from bots.scheduler.wellbeing import Answered, read_answer, summarise

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
FORTNIGHT = timedelta(days=14)


@pytest.mark.parametrize(
    ("text", "score", "words"),
    [
        ("4", 4, ""),
        ("5!", 5, ""),
        ("4 det var hyggeligt", 4, "det var hyggeligt"),
        ("2, han kom ikke", 2, "han kom ikke"),
        ("Det var dejligt, 5", 5, "Det var dejligt"),
        ("3/5", 3, ""),
        ("4 ud af 5", 4, ""),
        ("fem", 5, ""),
        ("Vi snakkede i 2 timer om haven", None, ""),
        ("7", None, ""),
        ("godt", None, ""),
    ],
)
def test_a_score_is_a_number_from_1_to_5_at_either_end_of_the_answer(
    text: str, score: int | None, words: str
) -> None:
    assert read_score(text) == (score, words)


@pytest.mark.parametrize(
    "words",
    ["Jeg er lidt ked af det", "hun virkede ensom", "He asked to borrow money", "I felt unsafe"],
)
def test_worried_words_are_noticed(words: str) -> None:
    assert sounds_worried(words)


@pytest.mark.parametrize("words", ["Det var en dejlig snak om haven", "We laughed a lot", ""])
def test_happy_words_are_not_worried(words: str) -> None:
    assert not sounds_worried(words)


def test_yes_and_no_are_short_answers_in_danish_or_english() -> None:
    assert all(is_yes(w) for w in ("ja", "Ja!", "ok", "Yes.", "ja tak", "👍", "✅"))
    assert all(is_no(w) for w in ("nej", "Nej tak", "no", "👎"))
    assert not is_yes("ja det gør jeg gerne på torsdag")
    # An Element reply quotes the question first; only the answer counts.
    assert is_yes("> <@scheduler:connec.test> Passer det dig?\n\nja")


def test_a_visit_number_is_read_with_or_without_nr_or_hash() -> None:
    assert split_number("12") == (12, "")
    assert split_number("nr. 12 fredag kl 10") == (12, "fredag kl 10")
    assert split_number("#7 next Tuesday 2pm") == (7, "next Tuesday 2pm")
    assert split_number("fredag kl 10") == (None, "fredag kl 10")


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", 1), ("2 nogle gange", 2), ("Ofte", 3), ("næsten aldrig", 1), ("hardly ever", 1),
     ("some of the time", 2), ("4", None), ("måske", None)],
)  # fmt: skip
def test_a_wellbeing_answer_is_1_2_or_3_or_its_words(text: str, value: int | None) -> None:
    assert read_answer(text) == value


def quiet(**changes: object) -> Quiet:
    values: dict[str, object] = {
        "last_activity_at": NOW - timedelta(days=1),
        "introduced_at": NOW - timedelta(days=60),
        "created_at": NOW - timedelta(days=60),
        "last_visit_at": None,
        "visit_ahead": False,
        "nudged": False,
        "escalated": False,
    }
    values.update(changes)
    return Quiet(**values)  # type: ignore[arg-type]


def test_a_room_quiet_for_two_weeks_is_nudged_and_for_four_weeks_raised() -> None:
    assert verdict(quiet(), NOW, FORTNIGHT) is None
    assert verdict(quiet(last_activity_at=NOW - timedelta(days=15)), NOW, FORTNIGHT) == NUDGE
    nudged = quiet(last_activity_at=NOW - timedelta(days=20), nudged=True)
    assert verdict(nudged, NOW, FORTNIGHT) is None
    long_quiet = quiet(last_activity_at=NOW - timedelta(days=29), nudged=True)
    assert verdict(long_quiet, NOW, FORTNIGHT) == RAISE
    raised = quiet(last_activity_at=NOW - timedelta(days=40), nudged=True, escalated=True)
    assert verdict(raised, NOW, FORTNIGHT) is None


def test_a_visit_that_took_place_or_one_ahead_counts_as_life() -> None:
    old = NOW - timedelta(days=20)
    assert verdict(quiet(last_activity_at=old, last_visit_at=NOW - timedelta(days=2)),
                   NOW, FORTNIGHT) is None  # fmt: skip
    assert verdict(quiet(last_activity_at=old, visit_ahead=True), NOW, FORTNIGHT) is None


def answered(person: int, total: int, role: str = "citizen", days_ago: int = 0) -> Answered:
    return Answered(person, role, NOW - timedelta(days=days_ago), total)


def test_wellbeing_figures_are_shown_only_for_groups_of_five_or_more() -> None:
    four = [answered(p, 5) for p in range(4)]
    groups, change = summarise(four)
    assert [(g.label, g.count, g.shown, g.mean) for g in groups] == [
        ("all", 4, False, None),
        ("citizen", 4, False, None),
        ("peer", 0, False, None),
    ]
    assert not change.shown

    five = [*four, answered(9, 9, role="peer")]
    groups, _ = summarise(five)
    everyone = groups[0]
    assert everyone.shown and everyone.count == 5
    assert everyone.mean == pytest.approx((4 * 5 + 9) / 5)
    assert everyone.distribution[5] == 4 and everyone.distribution[9] == 1
    assert sum(everyone.distribution.values()) == 5
    assert not groups[2].shown  # one peer citizen: no figures


def test_each_person_counts_once_with_their_latest_answer_and_change_is_measured() -> None:
    history = []
    for person in range(6):
        history.append(answered(person, 8, days_ago=90))
        history.append(answered(person, 5, days_ago=0))
    groups, change = summarise(history)
    assert groups[0].count == 6 and groups[0].mean == pytest.approx(5)
    assert change.shown and change.count == 6
    assert (change.first_mean, change.latest_mean) == (pytest.approx(8), pytest.approx(5))
