"""A person writes when they want the visit; the scheduler reads a time from it.

Most cases live in ``tests/data/booking-phrases.tsv``, one row per phrase, so they
can be read (and added to) without reading Python.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bots.scheduler.timeparse import (
    ASK_TIME,
    DEFAULT_DURATION_MINUTES,
    PAST,
    UNPARSEABLE,
    BookingRequest,
    parse_booking,
)

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
PHRASES = Path(__file__).parents[2] / "data" / "booking-phrases.tsv"
# The "now" stated in the TSV header: Thursday 26 November 2026, 10:00.
THURSDAY_MORNING = datetime(2026, 11, 26, 10, 0, tzinfo=COPENHAGEN)

PROBLEMS = {"ERROR:past": PAST, "ERROR:unparseable": UNPARSEABLE, "ASK:time": ASK_TIME}


@dataclasses.dataclass(frozen=True)
class PhraseRow:
    line: int
    phrase: str
    expected: str
    weekly: bool
    extra: dict[str, str]


def read_rows() -> list[PhraseRow]:
    """Every row of the TSV, skipping comment lines and the header."""
    rows: list[PhraseRow] = []
    with PHRASES.open(encoding="utf-8") as tsv:
        data = [(n, text) for n, text in enumerate(tsv, start=1) if not text.startswith("#")]
    header, *body = data
    assert header[1].rstrip("\n").split("\t") == ["phrase", "expected", "weekly", "extra"]
    for number, text in body:
        phrase, expected, weekly, extra = text.rstrip("\r\n").split("\t")
        pairs = dict(item.split("=", 1) for item in extra.split() if "=" in item)
        rows.append(PhraseRow(number, phrase, expected, weekly == "yes", pairs))
    return rows


def moment(text: str) -> datetime:
    """An ISO time from the TSV; without an offset it is Copenhagen wall time."""
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=COPENHAGEN)


ROWS = read_rows()


@pytest.mark.parametrize("row", ROWS, ids=[f"line{row.line}:{row.phrase}" for row in ROWS])
def test_phrase_from_the_table(row: PhraseRow) -> None:
    now = moment(row.extra["now"]) if "now" in row.extra else THURSDAY_MORNING
    said = f"{row.phrase!r} (line {row.line}, now {now.isoformat()})"

    result = parse_booking(row.phrase, now)

    if row.expected in PROBLEMS:
        assert result.problem == PROBLEMS[row.expected], f"{said}: got {result}"
        assert result.when is None, f"{said}: got {result}"
        if "day" in row.extra:
            assert result.day == date.fromisoformat(row.extra["day"]), f"{said}: got {result}"
    else:
        assert result.problem is None, f"{said}: expected {row.expected}, got {result}"
        assert result.when is not None
        expected = datetime.fromisoformat(row.expected)
        assert result.when.replace(tzinfo=None) == expected.replace(tzinfo=None), (
            f"{said}: expected {row.expected}, got {result.when.isoformat()}"
        )
        assert result.when.tzinfo == COPENHAGEN, f"{said}: not in Copenhagen time"
        if expected.tzinfo is not None:
            assert result.when.utcoffset() == expected.utcoffset(), (
                f"{said}: expected offset of {row.expected}, got {result.when.isoformat()}"
            )
    assert result.weekly is row.weekly, f"{said}: weekly should be {row.weekly}"
    mode = row.extra.get("mode", "none")
    assert result.contact_mode == (None if mode == "none" else mode), f"{said}: got {result}"
    duration = int(row.extra.get("duration", DEFAULT_DURATION_MINUTES))
    assert result.duration_minutes == duration, f"{said}: got {result}"


def test_the_table_keeps_the_shared_rows_and_adds_daylight_saving_ones() -> None:
    phrases = {row.phrase for row in ROWS}
    assert {"på fredag klokken halv tre", "kvart i tre på lørdag", "31/11 kl 10"} <= phrases
    assert sum("now" in row.extra for row in ROWS) >= 10
    assert len(ROWS) >= 150


def test_halv_is_half_before_the_hour_in_danish_and_half_after_in_english() -> None:
    danish = parse_booking("i morgen halv tre", THURSDAY_MORNING)
    english = parse_booking("tomorrow at half past two", THURSDAY_MORNING)

    assert danish.when == english.when == datetime(2026, 11, 27, 14, 30, tzinfo=COPENHAGEN)


def test_a_weekday_named_today_means_the_same_day_next_week() -> None:
    result = parse_booking("torsdag kl 16", THURSDAY_MORNING)

    assert result.when == THURSDAY_MORNING.replace(hour=16) + timedelta(days=7)


def test_a_day_without_a_time_asks_for_the_time_on_that_day() -> None:
    result = parse_booking("næste tirsdag", THURSDAY_MORNING)

    assert result == BookingRequest(
        when=None,
        weekly=False,
        duration_minutes=30,
        contact_mode=None,
        problem=ASK_TIME,
        day=date(2026, 12, 1),
    )


def test_weekly_visits_keep_their_mode_and_length_when_the_time_is_missing() -> None:
    result = parse_booking("hver onsdag på video i en time", THURSDAY_MORNING)

    assert (result.problem, result.weekly, result.contact_mode, result.duration_minutes) == (
        ASK_TIME,
        True,
        "video",
        60,
    )


def test_relative_times_drop_the_seconds_of_now() -> None:
    now = THURSDAY_MORNING.replace(second=42, microsecond=7)

    result = parse_booking("om en time", now)

    assert result.when == datetime(2026, 11, 26, 11, 0, tzinfo=COPENHAGEN)


def test_now_in_another_zone_is_read_as_copenhagen_wall_time() -> None:
    now_in_utc = THURSDAY_MORNING.astimezone(ZoneInfo("UTC"))

    result = parse_booking("i dag kl 16", now_in_utc)

    assert result.when == datetime(2026, 11, 26, 16, 0, tzinfo=COPENHAGEN)
    assert result.when is not None and result.when.tzinfo == COPENHAGEN


def test_the_zone_argument_decides_where_the_clock_hangs() -> None:
    result = parse_booking("i morgen kl 14", THURSDAY_MORNING, zone="Europe/London")

    assert result.when is not None
    assert result.when.tzinfo == ZoneInfo("Europe/London")
    assert result.when.utcoffset() == timedelta(0)
    assert result.when.hour == 14


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_booking("i morgen kl 14", datetime(2026, 11, 26, 10, 0))


@pytest.mark.parametrize(
    ("phrase", "mode"),
    [
        ("i morgen kl 14 videoopkald", "video"),
        ("i morgen kl 14 video-opkald", "video"),
        ("i morgen kl 14, ring til mig", "voice"),
        ("i morgen kl 14 opkald", "voice"),
        ("tomorrow at 2 call me", "voice"),
        ("tomorrow at 2 video call", "video"),
        ("i morgen kl 14 vi skriver sammen", "chat"),
        ("i morgen kl 14 chat eller telefon", None),
    ],
)
def test_contact_mode_words(phrase: str, mode: str | None) -> None:
    assert parse_booking(phrase, THURSDAY_MORNING).contact_mode == mode, phrase


@pytest.mark.parametrize(
    ("phrase", "minutes"),
    [
        ("i morgen kl 14 i en time", 60),
        ("i morgen kl 14 1 time", 60),
        ("i morgen kl 14 45 min", 45),
        ("i morgen kl 14 i 1,5 time", 90),
        ("i morgen kl 14 en time og et kvarter", 75),
        ("i morgen kl 14 et kvarter", 15),
        ("tomorrow at 2 for 45 minutes", 45),
        ("tomorrow at 2 for half an hour", 30),
        ("om en time", 30),
    ],
)
def test_visit_length_words(phrase: str, minutes: int) -> None:
    assert parse_booking(phrase, THURSDAY_MORNING).duration_minutes == minutes, phrase


def test_the_result_cannot_be_changed_after_the_fact() -> None:
    result = parse_booking("i morgen kl 14", THURSDAY_MORNING)

    with pytest.raises(dataclasses.FrozenInstanceError):
        result.weekly = True  # type: ignore[misc]
