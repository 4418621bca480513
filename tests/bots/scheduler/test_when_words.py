"""The scheduler says a booked time back in words, in the person's language."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bots.scheduler.when_words import spell_out, spell_out_weekly

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
THURSDAY_AFTERNOON = datetime(2026, 12, 3, 14, 0, tzinfo=COPENHAGEN)


def test_a_visit_is_spelled_out_in_danish() -> None:
    assert spell_out(THURSDAY_AFTERNOON, "da") == "torsdag den 3. december kl. 14.00"


def test_a_visit_is_spelled_out_in_english() -> None:
    assert spell_out(THURSDAY_AFTERNOON, "en") == "Thursday 3 December at 14:00"


def test_a_weekly_visit_is_spelled_out_in_both_languages() -> None:
    wednesday = datetime(2026, 12, 2, 10, 0, tzinfo=COPENHAGEN)

    assert spell_out_weekly(wednesday, "da") == "hver onsdag kl. 10.00"
    assert spell_out_weekly(wednesday, "en") == "every Wednesday at 10:00"


def test_morning_hours_keep_two_digits_and_minutes_show() -> None:
    early = datetime(2027, 1, 1, 9, 5, tzinfo=COPENHAGEN)

    assert spell_out(early, "da") == "fredag den 1. januar kl. 09.05"
    assert spell_out(early, "en") == "Friday 1 January at 09:05"


@pytest.mark.parametrize("lang", ["da-DK", "DA", None, "de"])
def test_unknown_or_missing_languages_fall_back_to_danish(lang: str | None) -> None:
    assert spell_out(THURSDAY_AFTERNOON, lang) == "torsdag den 3. december kl. 14.00"


def test_a_time_stored_in_utc_is_spelled_in_the_zone_asked_for() -> None:
    stored = THURSDAY_AFTERNOON.astimezone(UTC)

    assert spell_out(stored, "da", zone="Europe/Copenhagen") == (
        "torsdag den 3. december kl. 14.00"
    )
    assert spell_out_weekly(stored, "en", zone="Europe/Copenhagen") == ("every Thursday at 14:00")


def test_summer_time_is_spelled_as_the_wall_clock_shows_it() -> None:
    after_spring_forward = datetime(2027, 3, 28, 1, 30, tzinfo=UTC)  # 03:30 summer time

    assert spell_out(after_spring_forward, "da", zone="Europe/Copenhagen") == (
        "søndag den 28. marts kl. 03.30"
    )
