"""The dashboard's counting and drawing, on plain data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from portal.charts import (
    Point,
    VisitSeries,
    bar_chart,
    last_months,
    last_weeks,
    line_chart,
    per_week,
    visits,
    wellbeing_per_month,
)

CPH = ZoneInfo("Europe/Copenhagen")


def test_weeks_and_months_end_with_the_current_one() -> None:
    weeks = last_weeks(date(2026, 6, 17), 3)  # a Wednesday
    assert weeks == [date(2026, 6, 1), date(2026, 6, 8), date(2026, 6, 15)]
    assert last_months(date(2026, 2, 10), 3) == [
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
    ]


def test_counting_per_week_uses_local_time() -> None:
    weeks = last_weeks(date(2026, 6, 17), 2)
    # Sunday 23:30 UTC is already Monday in Copenhagen.
    late_sunday = datetime(2026, 6, 14, 23, 30, tzinfo=UTC)
    assert per_week([late_sunday], weeks, CPH) == [0, 1]
    assert per_week([late_sunday - timedelta(weeks=5)], weeks, CPH) == [0, 0]


def test_weekly_visits_count_each_week_until_cancelled_and_proposals_never() -> None:
    now = datetime(2026, 6, 17, 12, tzinfo=UTC)
    start = now - timedelta(weeks=3, hours=1)
    series = [
        VisitSeries(start, True, "confirmed", now),  # 4 so far
        VisitSeries(start, True, "cancelled", start + timedelta(weeks=1, hours=1)),  # 2
        VisitSeries(start, False, "done", now),  # 1
        VisitSeries(start, False, "proposed", now),  # never confirmed
        VisitSeries(now + timedelta(days=1), False, "confirmed", now),  # not yet due
    ]
    assert len(list(visits(series, now))) == 7


def test_wellbeing_is_shown_only_for_groups_of_five_or_more() -> None:
    months = [date(2026, 5, 1), date(2026, 6, 1)]
    may = datetime(2026, 5, 10, tzinfo=UTC)
    june = datetime(2026, 6, 10, tzinfo=UTC)
    answers = [(may, 5)] * 4 + [(june, 6)] * 4 + [(june, 9)]
    assert wellbeing_per_month(answers, months, CPH) == [None, 6.6]


def test_charts_are_labelled_svg_without_inline_styles() -> None:
    svg = bar_chart(
        [Point("23", 2), Point("24", 0)], title="Pairs <per week>", description="d", axis="Week"
    )
    assert svg.startswith("<svg") and 'role="img"' in svg and "aria-labelledby" in svg
    assert "Pairs &lt;per week&gt;" in svg and "style=" not in svg
    assert svg.count('class="chart-bar"') == 2
    line = line_chart(
        [Point("maj", None), Point("jun", 6.6), Point("jul", 5.0)],
        title="t",
        description="d",
        axis="Month",
        number=lambda v: f"{v:.1f}".replace(".", ","),
    )
    assert "6,6" in line and line.count('class="chart-dot"') == 2 and "<polyline" in line
