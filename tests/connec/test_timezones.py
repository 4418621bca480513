"""A person's time zone from their own words."""

from __future__ import annotations

import pytest

from bots.matchmaker.intake_steps import STEP_FIELDS, _Context, _parse_place
from connec.timezones import zone_from_words


@pytest.mark.parametrize(
    ("words", "zone"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("berlin", "Europe/Berlin"),
        ("New York", "America/New_York"),
        ("new_york", "America/New_York"),
        ("Nuuk", "America/Nuuk"),
        ("Grønland", "America/Nuuk"),
        ("Færøerne", "Atlantic/Faroe"),
        ("Spanien", "Europe/Madrid"),
        ("København", "Europe/Copenhagen"),
    ],
)
def test_zones_are_read_from_the_words_people_use(words: str, zone: str) -> None:
    assert zone_from_words(words) == zone


@pytest.mark.parametrize("words", ["", "hej", "Etc/GMT+5", "i morgen"])
def test_words_that_name_no_zone_are_none(words: str) -> None:
    assert zone_from_words(words) is None


def test_a_place_abroad_in_the_intake_also_sets_the_time_zone() -> None:
    assert "timezone" in STEP_FIELDS["place"]
    context = _Context(today_year=2026, role="volunteer")
    assert _parse_place("Berlin", context)["timezone"] == "Europe/Berlin"  # type: ignore[index]
    assert "timezone" not in _parse_place("8000 Aarhus", context)  # type: ignore[operator]
    assert "timezone" not in _parse_place("Aarhus", context)  # type: ignore[operator]
