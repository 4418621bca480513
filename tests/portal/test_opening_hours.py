"""A help line's opening hours in words, in Danish and English."""

from __future__ import annotations

from datetime import time

import pytest

from portal.choices import opening_hours

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


@pytest.mark.parametrize(
    ("days", "lang", "words"),
    [
        (WEEKDAYS, "da", "Mandag–fredag kl. 09.00–15.00"),
        (WEEKDAYS, "en", "Monday–Friday, 09:00–15:00"),
        (["mon", "wed", "thu"], "da", "Mandag, onsdag og torsdag kl. 09.00–15.00"),
        (["sat", "sun"], "en", "Saturday and Sunday, 09:00–15:00"),
    ],
)
def test_the_days_and_hours_read_as_people_say_them(days: list, lang: str, words: str) -> None:
    assert opening_hours(days, time(9), time(15), lang) == words
