"""The report as CSV, for the municipality's own analysts: the same figures, nothing more.

One figure a line (``section, group_kind, group, measure, value``), numbers with a
full stop for decimals. A hidden figure has an empty value and says why; no number
about fewer than five people is ever written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from connec.evidence.report import Report
from connec.people_csv import as_text

HEADER = ("section", "group_kind", "group", "measure", "value", "note")
HIDDEN = "hidden: fewer than 5 people, or it would reveal such a group"


def _value(value: float | None) -> str:
    if value is None:
        return ""
    return str(value) if isinstance(value, int) else f"{value:.3f}"


def rows(report: Report) -> Iterator[tuple[str, str, str, str, str, str]]:
    """Every figure of the report, one a row."""

    def row(section: str, kind: str, group: str, measure: str, value: float | None, note: str = ""):
        # The notes carry the operator's own words (sources): never a formula to a spreadsheet.
        return (
            section,
            kind,
            group,
            measure,
            _value(value),
            as_text(note) if value is not None else HIDDEN,
        )

    yield row("settings", "", "", "lonely_from", report.lonely_from, report.lonely_from_source)
    yield row("settings", "", "", "bootstrap_resamples", report.resamples, f"seed {report.seed}")
    yield row("settings", "", "", "smallest_group", report.threshold)
    for c in report.changes:
        after = f"{c.months}_months"
        for measure, value in (
            ("people", c.people),
            ("mean_before", c.before),
            ("mean_after", c.after),
            ("mean_change", c.change),
            ("mean_change_ci95_low", c.change_low),
            ("mean_change_ci95_high", c.change_high),
            ("lonely_at_start", c.lonely_before),
            ("no_longer_lonely", c.moved_out),
            ("no_longer_lonely_share", c.moved_out_share),
            ("became_lonely", c.moved_in),
            ("net_out_of_loneliness", c.net),
            ("net_out_ci95_low", c.net_low),
            ("net_out_ci95_high", c.net_high),
        ):
            yield row("change", "all", "all", f"{after}_{measure}", value)
    for kind, cohort in report.cohorts.items():
        for r in cohort:
            yield row("cohort", kind, r.group, "enrolled", r.enrolled)
            yield row("cohort", kind, r.group, "had_a_visit_room", r.matched)
            yield row("cohort", kind, r.group, "waiting_now", r.waiting)
            for h, people in r.paired.items():
                yield row("cohort", kind, r.group, f"paired_{h}_months", people)
                yield row("cohort", kind, r.group, f"mean_change_{h}_months", r.change[h])
    contact = report.contact
    yield row("contact", "all", "all", "friendships", contact.friendships)
    yield row("contact", "all", "all", "friendship_months", contact.friendship_months)
    yield row(
        "contact", "all", "all", "visits_booked_per_friendship_month", contact.booked_per_month
    )
    yield row("contact", "all", "all", "visits_held_per_friendship_month", contact.held_per_month)
    for kept in contact.retention:
        months = kept.months
        yield row("contact", "all", "all", f"friendships_started_{months}_months_ago", kept.started)
        yield row("contact", "all", "all", f"still_active_after_{months}_months", kept.lasted)
        yield row("contact", "all", "all", f"still_active_after_{months}_months_share", kept.share)
    yield row("contact", "all", "all", "people_asked_about_a_friend", contact.to_proposal.people)
    yield row(
        "contact",
        "all",
        "all",
        "median_days_enrolment_to_first_proposal",
        contact.to_proposal.median_days,
    )
    yield row("contact", "all", "all", "people_with_a_visit_room", contact.to_room.people)
    yield row(
        "contact",
        "all",
        "all",
        "median_days_first_proposal_to_visit_room",
        contact.to_room.median_days,
    )
    yield row("contact", "all", "all", "waiting_now", contact.waiting_now)
    yield row("contact", "all", "all", "median_days_waiting_now", contact.waiting_median_days)
    if contact.circles is not None:  # only where some circle has had a room
        circles = contact.circles
        yield row("contact", "all", "all", "circles_with_a_room", circles.circles)
        yield row("contact", "all", "all", "people_in_circles", circles.members)
        yield row("contact", "all", "all", "circle_months", circles.circle_months)
        yield row(
            "contact", "all", "all", "gatherings_held_per_circle_month", circles.held_per_month
        )
    e = report.estimate
    yield row("estimate", "all", "all", "horizon_months", e.months)
    yield row(
        "estimate",
        "all",
        "all",
        "people_out_of_loneliness_low",
        e.people_low,
        "lower end of the 95% interval of the net number",
    )
    yield row(
        "estimate",
        "all",
        "all",
        "health_cost_per_lonely_person_dkk",
        e.cost_per_person,
        f"{e.cost_source}; {e.cost_year}; ages {e.cost_ages}",
    )
    yield row("estimate", "all", "all", "health_costs_avoided_dkk_per_year", e.avoided)
    yield row(
        "estimate", "all", "all", "service_cost_dkk_per_year", e.service_cost, e.service_source
    )


def to_csv(report: Report) -> str:
    """The whole CSV, header first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows(report))
    return out.getvalue()
