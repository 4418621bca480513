"""`connec bench reading`: how well connec reads people as they type.

Runs the readers over the sets in ``tests/data`` and prints what a person would meet:

- ``booking-typos.tsv`` (misspelled booking phrases and what they meant): bookings
  read right, bookings that asked ("Mente du …?"), and bookings silently wrong (a
  different time that would be put to the other person without a word; target 0);
- ``interest-typos.tsv`` (misspelled and colloquial interests and what was meant):
  precision and recall of the taxonomy keys found;
- ``ordinary-chat.tsv`` (everyday sentences with no booking in them): false alarms
  (a sentence after ``!besøg`` in which a word was taken for a mistyped time word)
  and false booking offers (the scheduler offering to book plain chat).

Nothing is timed: these are figures of reading, and the same sets are tested.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from bots.scheduler.reading import chat_offer, read_booking
from bots.scheduler.timeparse import ASK_TIME, BookingRequest
from connec.interests import understand_interests
from connec.settings import Settings

DATA = Path(__file__).parents[2] / "tests" / "data"
ZONE = "Europe/Copenhagen"
# The "now" of the booking sets: Thursday 26 November 2026, 10:00.
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo(ZONE))


def _rows(name: str) -> Iterator[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8") as tsv:
        lines = [line for line in tsv if not line.startswith("#")]
    yield from csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)


@dataclass(frozen=True)
class Meant:
    """What a booking phrase meant, as its row says."""

    when: datetime | None
    day: date | None
    weekly: bool
    duration: int

    def is_read_by(self, request: BookingRequest) -> bool:
        if self.when is not None:
            return (
                request.problem is None
                and request.when == self.when
                and request.weekly == self.weekly
                and request.duration_minutes == self.duration
            )
        return request.problem == ASK_TIME and request.day == self.day


def _meant(row: dict[str, str]) -> Meant:
    extra = dict(item.split("=", 1) for item in row["extra"].split() if "=" in item)
    duration = int(extra.get("duration", 30))
    weekly = row["weekly"] == "yes"
    if row["expected"] == "ASK:time":
        return Meant(None, date.fromisoformat(extra["day"]), weekly, duration)
    when = datetime.fromisoformat(row["expected"]).replace(tzinfo=ZoneInfo(ZONE))
    return Meant(when, None, weekly, duration)


@dataclass
class BookingFigures:
    total: int = 0
    right: int = 0  # read as meant, nothing asked
    asked: int = 0  # "Mente du …?" before anything is booked
    asked_right: int = 0  # ... about what was meant
    not_understood: int = 0  # a kind "I did not understand", nothing booked
    silently_wrong: list[str] = field(default_factory=list)  # another time, without a word


def booking_figures() -> BookingFigures:
    figures = BookingFigures()
    for row in _rows("booking-typos.tsv"):
        meant = _meant(row)
        reading = read_booking(row["phrase"], NOW, ZONE)
        figures.total += 1
        if reading.ask is not None:
            figures.asked += 1
            figures.asked_right += meant.is_read_by(reading.ask)
        elif meant.is_read_by(reading.request):
            figures.right += 1
        elif reading.request.problem is None:
            figures.silently_wrong.append(row["phrase"])
        else:
            figures.not_understood += 1
    return figures


@dataclass
class InterestFigures:
    phrases: int = 0
    found: int = 0  # taxonomy keys found, over all phrases
    found_right: int = 0  # ... of them meant
    meant: int = 0  # taxonomy keys meant, over all phrases
    wrong: list[str] = field(default_factory=list)  # "phrase: key" found but not meant
    missed: list[str] = field(default_factory=list)  # "phrase: key" meant but not found

    @property
    def precision(self) -> float:
        return self.found_right / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.found_right / self.meant if self.meant else 1.0


def interest_figures() -> InterestFigures:
    figures = InterestFigures()
    for row in _rows("interest-typos.tsv"):
        meant = set(row["interests"].split())
        found = set(understand_interests(row["phrase"]).keys)
        figures.phrases += 1
        figures.found += len(found)
        figures.meant += len(meant)
        figures.found_right += len(found & meant)
        figures.wrong += [f"{row['phrase']}: {key}" for key in sorted(found - meant)]
        figures.missed += [f"{row['phrase']}: {key}" for key in sorted(meant - found)]
    return figures


@dataclass
class ChatFigures:
    sentences: int = 0
    false_alarms: list[str] = field(default_factory=list)  # a word taken for a time word
    false_offers: list[str] = field(default_factory=list)  # "Skal jeg skrive … i kalenderen?"


def chat_figures() -> ChatFigures:
    figures = ChatFigures()
    for row in _rows("ordinary-chat.tsv"):
        sentence = row["sentence"]
        figures.sentences += 1
        reading = read_booking(sentence, NOW, ZONE)
        if reading.mended or reading.ask is not None:
            figures.false_alarms.append(sentence)
        if chat_offer(sentence, NOW, ZONE) is not None:
            figures.false_offers.append(sentence)
    return figures


def _share(part: int, whole: int) -> str:
    return f"{part} of {whole} ({100 * part / whole:.1f} %)" if whole else "0"


def main(settings: Settings, console: Console) -> int:
    bookings, interests, chat = booking_figures(), interest_figures(), chat_figures()
    table = Table(title="Reading people as they type")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("target")
    table.add_row("misspelled bookings read right", _share(bookings.right, bookings.total), "")
    table.add_row(
        "misspelled bookings that asked first",
        f"{_share(bookings.asked, bookings.total)}, {bookings.asked_right} about the time meant",
        "",
    )
    table.add_row(
        "misspelled bookings not understood (said so)",
        _share(bookings.not_understood, bookings.total),
        "",
    )
    table.add_row(
        "misspelled bookings silently wrong",
        _share(len(bookings.silently_wrong), bookings.total),
        "0",
    )
    table.add_row(
        f"interest precision ({interests.phrases} phrases)",
        f"{interests.precision:.3f} ({interests.found_right} of {interests.found})",
        "",
    )
    table.add_row(
        "interest recall",
        f"{interests.recall:.3f} ({interests.found_right} of {interests.meant})",
        "",
    )
    table.add_row(
        "false alarms on ordinary sentences",
        _share(len(chat.false_alarms), chat.sentences),
        "",
    )
    table.add_row(
        "false booking offers on ordinary sentences",
        _share(len(chat.false_offers), chat.sentences),
        "",
    )
    console.print(table)
    for title, items in (
        ("silently wrong", bookings.silently_wrong),
        ("interests found but not meant", interests.wrong),
        ("interests meant but not found", interests.missed),
        ("false alarms", chat.false_alarms),
        ("false offers", chat.false_offers),
    ):
        if items:
            console.print(f"[bold]{title}[/bold]: " + "; ".join(items))
    return 1 if bookings.silently_wrong else 0
