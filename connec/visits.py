"""Which booked visits were due: one way of counting, for the dashboard and the report.

Pure: plain data in, instants out. connec never listens to a call or reads a
conversation, so a visit "held" means a confirmed booking whose time came and that
was not cancelled or moved before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class VisitSeries:
    """What counting needs of a booking: when, whether weekly, and how it stands."""

    starts_at: datetime
    weekly: bool
    state: str
    updated_at: datetime


def visits(series: Iterable[VisitSeries], now: datetime) -> Iterator[datetime]:
    """Every visit that was due by ``now``: once for a single booking, weekly for a series.

    A series that was cancelled or moved stops at that moment; bookings nobody
    confirmed never count.
    """
    for booking in series:
        if booking.state not in ("confirmed", "done", "cancelled", "moved"):
            continue
        until = now if booking.state in ("confirmed", "done") else min(now, booking.updated_at)
        if not booking.weekly:
            if booking.state in ("confirmed", "done") and booking.starts_at <= now:
                yield booking.starts_at
            continue
        when = booking.starts_at
        while when <= until:
            yield when
            when += timedelta(weeks=1)
