"""The dashboard's charts: counting per week and month, and drawing as inline SVG.

Pure: plain data in, numbers or SVG markup out. The page puts a table with the
same numbers next to each chart, for screen readers and for people who prefer numbers.
Colours come from classes in portal.css (the page's security policy forbids inline styles).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from connec.visits import VisitSeries, visits

__all__ = ["VisitSeries", "visits"]  # the dashboard counts visits as the report does

MIN_GROUP = 5
"""Wellbeing is only shown for groups of at least this many answers, so nobody stands out."""

UCLA_MIN, UCLA_MAX = 3, 9
"""The three-item UCLA loneliness scale's total: 3 (least lonely) to 9 (most lonely)."""

_ids = count(1)


@dataclass(frozen=True)
class Point:
    """One bar or dot: its label on the axis, and its value (None: not shown)."""

    label: str
    value: float | None


def monday(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def last_weeks(today: date, weeks: int) -> list[date]:
    """The Mondays of the last ``weeks`` weeks, the oldest first, this week last."""
    this_week = monday(today)
    return [this_week - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def last_months(today: date, months: int) -> list[date]:
    """The first days of the last ``months`` months, the oldest first, this month last."""
    firsts: list[date] = []
    year, month = today.year, today.month
    for _ in range(months):
        firsts.append(date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return firsts[::-1]


def per_week(instants: Iterable[datetime], weeks: Sequence[date], zone: ZoneInfo) -> list[int]:
    """How many of ``instants`` fall in each of ``weeks`` (local time in ``zone``)."""
    index = {week: i for i, week in enumerate(weeks)}
    counts = [0] * len(weeks)
    for instant in instants:
        slot = index.get(monday(instant.astimezone(zone).date()))
        if slot is not None:
            counts[slot] += 1
    return counts


def wellbeing_per_month(
    answers: Iterable[tuple[datetime, int]],
    months: Sequence[date],
    zone: ZoneInfo,
    *,
    min_group: int = MIN_GROUP,
) -> list[float | None]:
    """The mean UCLA total per month; None for a month with fewer than ``min_group`` answers."""
    index = {(month.year, month.month): i for i, month in enumerate(months)}
    totals: list[list[int]] = [[] for _ in months]
    for answered_at, total in answers:
        local = answered_at.astimezone(zone)
        slot = index.get((local.year, local.month))
        if slot is not None:
            totals[slot].append(total)
    return [round(sum(t) / len(t), 1) if len(t) >= min_group else None for t in totals]


# Drawing ---------------------------------------------------------------------

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 28, 56


def _svg_open(title: str, description: str, kind: str) -> tuple[str, list[str]]:
    ident = f"chart-{next(_ids)}"
    parts = [
        f'<svg class="chart chart-of-{kind}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
    ]
    return ident, parts


def _scale_top(largest: float) -> int:
    """A round number at or above ``largest``, for the top of the value axis."""
    if largest <= 4:
        return 4
    step = 10 ** (len(str(int(largest))) - 1)
    for nice in (1, 2, 2.5, 5, 10):
        if largest <= nice * step:
            return int(nice * step) if nice * step >= 4 else 4
    return int(largest)


def bar_chart(
    points: Sequence[Point],
    *,
    title: str,
    description: str,
    axis: str,
    number: Callable[[float], str] | None = None,
) -> Markup:
    """A bar chart of counts, one bar per point, each labelled with its number."""
    _number = number or plain_number
    _, parts = _svg_open(title, description, "bars")
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _scale_top(max((p.value or 0 for p in points), default=0))
    base = TOP + plot_h
    for tick in (0, top / 2, top):
        y = base - plot_h * tick / top
        parts.append(
            f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(
            f'<text class="chart-tick" x="{LEFT - 8}" y="{y + 6:.1f}" text-anchor="end">{_number(tick)}</text>'
        )
    slot = plot_w / max(len(points), 1)
    bar = slot * 0.64
    for i, point in enumerate(points):
        x = LEFT + i * slot + (slot - bar) / 2
        value = point.value or 0
        height = plot_h * value / top
        parts.append(
            f'<rect class="chart-bar" x="{x:.1f}" y="{base - height:.1f}" width="{bar:.1f}" height="{height:.1f}"/>'
        )
        parts.append(
            f'<text class="chart-value" x="{x + bar / 2:.1f}" y="{base - height - 6:.1f}" '
            f'text-anchor="middle">{_number(value)}</text>'
        )
        parts.append(
            f'<text class="chart-label" x="{x + bar / 2:.1f}" y="{base + 24:.1f}" '
            f'text-anchor="middle">{escape(point.label)}</text>'
        )
    parts.append(
        f'<text class="chart-axis" x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle">{escape(axis)}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(
    points: Sequence[Point],
    *,
    title: str,
    description: str,
    axis: str,
    low: float = UCLA_MIN,
    high: float = UCLA_MAX,
    number: Callable[[float], str] | None = None,
) -> Markup:
    """A line of values between ``low`` and ``high``; points without a value leave a gap."""
    _number = number or plain_number
    _, parts = _svg_open(title, description, "line")
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    base = TOP + plot_h

    def y_of(value: float) -> float:
        return base - plot_h * (value - low) / (high - low)

    for tick in range(int(low), int(high) + 1):
        y = y_of(tick)
        parts.append(
            f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(
            f'<text class="chart-tick" x="{LEFT - 8}" y="{y + 6:.1f}" text-anchor="end">{tick}</text>'
        )
    slot = plot_w / max(len(points), 1)
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, point in enumerate(points):
        x = LEFT + i * slot + slot / 2
        parts.append(
            f'<text class="chart-label" x="{x:.1f}" y="{base + 24:.1f}" text-anchor="middle">{escape(point.label)}</text>'
        )
        if point.value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        y = y_of(point.value)
        segment.append(f"{x:.1f},{y:.1f}")
        parts.append(f'<circle class="chart-dot" cx="{x:.1f}" cy="{y:.1f}" r="6"/>')
        parts.append(
            f'<text class="chart-value" x="{x:.1f}" y="{y - 12:.1f}" text-anchor="middle">{_number(point.value)}</text>'
        )
    if segment:
        segments.append(segment)
    for line in segments:
        if len(line) > 1:
            parts.append(f'<polyline class="chart-line" points="{" ".join(line)}"/>')
    parts.append(
        f'<text class="chart-axis" x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle">{escape(axis)}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def plain_number(value: float) -> str:
    """A number as the charts print it by default: whole, or with one decimal."""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
