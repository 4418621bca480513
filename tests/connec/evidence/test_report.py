"""The report put together from fixed records: every figure worked out by hand, and small
groups hidden in the report itself, not only in the suppression's own tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from connec.evidence.export import rows
from connec.evidence.records import GatheringRecord, PersonRecord, Records
from connec.evidence.report import Report, age_band, build_report, quarter_of
from connec.evidence.stats import Answer, Circle, Friendship
from connec.settings import EvidenceSettings, load_settings
from connec.visits import VisitSeries

ZONE = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
SETTINGS = EvidenceSettings(resamples=400)


def population(peers: int = 0) -> Records:
    """25 people who signed up 400 days ago: 20 got a friend 12 days later (5 of those
    friendships ended after 60 days), 5 are still waiting. Of the 20, 15 started lonely
    (8) and 5 not (5); three months on, 10 of the lonely were at 6, the rest unchanged."""
    records = Records()
    enrolled = NOW - timedelta(days=400)
    for i in range(25):
        role = "peer" if i < peers else "citizen"
        records.people.append(PersonRecord(i, role, 1948, enrolled, "active"))
        if i >= 20:
            continue  # waiting
        records.first_asked[i] = enrolled + timedelta(days=10)
        started = enrolled + timedelta(days=12)
        records.first_room[i] = started
        ended = started + timedelta(days=60) if i >= 15 else None
        if ended is None:
            records.busy.add(i)
        else:
            records.free_since[i] = ended
        records.friendships.append(Friendship(i, started, ended))
        before = 8 if i < 15 else 5
        after = 6 if i < 10 else before
        records.answers += [
            Answer(i, started + timedelta(days=1), before),
            Answer(i, started + timedelta(days=1 + 91), after),
        ]
    return records


def test_the_change_in_loneliness_by_hand() -> None:
    report = build_report(population(), SETTINGS, municipality="Aarhus", now=NOW, zone=ZONE)
    three = report.changes[0]
    # Before (15 x 8 + 5 x 5) / 20 = 7.25, after (10 x 6 + 5 x 8 + 5 x 5) / 20 = 6.25.
    assert (three.people, three.before, three.after, three.change) == (20, 7.25, 6.25, -1)
    assert three.change_low is not None and three.change_high is not None
    assert three.change_low < -1 < three.change_high
    assert (three.lonely_before, three.moved_out, three.moved_out_share) == (15, 10, 10 / 15)
    # Nobody became lonely: 0 is under five, so it is hidden, and so is the exact net
    # number (10 - 0 would give it away); its interval is no count and stays.
    assert three.moved_in is None and three.net is None
    assert three.net_low is not None and 0 < three.net_low <= 10 <= (three.net_high or 0)
    # Nobody answered again near 6 or 12 months: zero, so hidden too.
    assert report.changes[1].people is None and report.changes[2].people is None
    # The estimate: the interval's lower end after 3 months, x DKK 7,960.
    assert report.estimate.months == 3
    assert report.estimate.avoided == report.estimate.people_low * 7960


def test_contact_figures_by_hand() -> None:
    report = build_report(population(), SETTINGS, municipality="Aarhus", now=NOW, zone=ZONE)
    contact = report.contact
    assert contact.friendships == 20
    # 15 friendships of 388 days and 5 of 60, in months of 365.25 / 12 days.
    assert contact.friendship_months is not None
    assert abs(contact.friendship_months - (15 * 388 + 5 * 60) / (365.25 / 12)) < 1e-6
    assert contact.to_proposal.median_days == 10 and contact.to_room.median_days == 2
    # 5 of 20 ended after 60 days: 15 lasted 3, 6 and 12 months.
    assert [(r.started, r.lasted, r.share) for r in contact.retention] == [(20, 15, 0.75)] * 3
    # 5 never matched and 5 whose friendship ended wait now.
    assert contact.waiting_now == 10
    assert report.total.enrolled == 25 and report.total.matched == 20


def test_a_group_of_three_is_hidden_with_the_group_that_would_give_it_away() -> None:
    report = build_report(population(peers=3), SETTINGS, municipality="Aarhus", now=NOW, zone=ZONE)
    roles = {row.group: row for row in report.cohorts["role"]}
    assert roles["peer"].enrolled is None  # three people
    assert roles["citizen"].enrolled is None  # else 25 - 22 = 3
    assert report.total.enrolled == 25
    # The CSV writes no number for either, and says why.
    cells = {(r[1], r[2], r[3]): r for r in rows(report)}
    assert cells[("role", "peer", "enrolled")][4] == ""
    assert cells[("role", "citizen", "enrolled")][4] == ""
    assert cells[("role", "peer", "enrolled")][5].startswith("hidden")


def test_quarters_and_age_bands() -> None:
    assert quarter_of(datetime(2025, 12, 31, 23, 30, tzinfo=UTC), ZONE) == "2026-1"  # Danish time
    assert quarter_of(datetime(2025, 4, 1, 12, tzinfo=UTC), ZONE) == "2025-2"
    assert [age_band(y, 2026) for y in (1962, 1961, 1952, 1951, 1942, 1941, None)] == [
        "under-65", "65-74", "65-74", "75-84", "75-84", "85+", "unknown",
    ]  # fmt: skip


def test_the_settings_come_from_connec_toml(tmp_path) -> None:
    (tmp_path / "connec.toml").write_text(
        "[evidence]\nlonely_from = 6\nhealth_cost_per_lonely_person = 9000\n"
        'service_cost_per_year = 450000\nservice_cost_source = "licences and hosting"\n'
    )
    evidence = load_settings(tmp_path).evidence
    assert (evidence.lonely_from, evidence.health_cost_per_lonely_person) == (6, 9000)
    assert evidence.service_cost_per_year == 450000
    assert evidence.health_cost_ages == "16-64"  # the default stays


def test_a_source_that_looks_like_a_formula_stays_text_in_the_csv() -> None:
    settings = EvidenceSettings(
        resamples=200, service_cost_per_year=1, service_cost_source="=HYPERLINK(1)"
    )
    report = build_report(population(), settings, municipality="Aarhus", now=NOW, zone=ZONE)
    cells = {r[3]: r for r in rows(report)}
    assert cells["service_cost_dkk_per_year"][5] == "'=HYPERLINK(1)"
    assert cells["3_months_mean_change"][4] == "-1.000"  # numbers stay numbers


# --- Circles --------------------------------------------------------------------------

MONTH_DAYS = 365.25 / 12


def gathering(
    circle_id: int, day: float, *, weekly: bool = True, state: str = "confirmed", until: float = 0
) -> GatheringRecord:
    """A gathering ``day`` days after the circles began (100 days before NOW); ``until``:
    when it was last changed (its cancelling), in days likewise."""
    began = NOW - timedelta(days=100)
    changed = began + timedelta(days=until) if until else began + timedelta(days=day)
    return GatheringRecord(
        circle_id, VisitSeries(began + timedelta(days=day), weekly, state, changed)
    )


def with_circles(members: list[set[int]], closed: dict[int, float] | None = None) -> Records:
    """The population, with one circle a set of members, each introduced 100 days before
    NOW (``closed``: the days after which a circle closed)."""
    records = population()
    began = NOW - timedelta(days=100)
    for i, people in enumerate(members):
        ended = began + timedelta(days=closed[i]) if closed and i in closed else None
        records.circles.append(Circle(i, began, ended, frozenset(people)))
    return records


def circle_cells(report: Report) -> dict[str, tuple[str, ...]]:
    return {r[3]: r for r in rows(report) if "circle" in r[3]}


def test_circles_and_their_gatherings_held_per_month_by_hand() -> None:
    # Six circles of five (overlapping: ten people in all); the last closed after 30 days.
    records = with_circles([set(range(k, k + 5)) for k in range(6)], closed={5: 30})
    records.gatherings += [gathering(k, 3) for k in range(6)]  # weekly from day 3
    records.gatherings += [
        gathering(0, 50, weekly=False, state="done"),  # held once
        gathering(0, 60, weekly=False, state="cancelled", until=55),  # called off first
        gathering(0, 120, weekly=False),  # not yet
        gathering(1, 3, state="cancelled", until=20),  # a weekly one, called off on day 20
        gathering(2, 3, state="proposed"),  # never agreed
        gathering(99, 3),  # of a circle not in the records: never counted
    ]
    report = build_report(records, SETTINGS, municipality="Aarhus", now=NOW, zone=ZONE)
    circles = report.contact.circles
    assert circles is not None
    assert (circles.circles, circles.members) == (6, 10)
    # Open circles: days 3, 10, ..., 94 = 14 each; the closed one only until day 30 (3, 10,
    # 17, 24), though its weekly booking was never cancelled; +1 done; +3 (3, 10, 17).
    held = 5 * 14 + 4 + 1 + 3
    months = (5 * 100 + 30) / MONTH_DAYS
    assert circles.circle_months is not None and abs(circles.circle_months - months) < 1e-6
    assert circles.held_per_month is not None
    assert abs(circles.held_per_month - held / months) < 1e-9
    # The CSV says the same.
    cells = circle_cells(report)
    assert cells["circles_with_a_room"][4] == "6"
    assert cells["people_in_circles"][4] == "10"
    assert cells["gatherings_held_per_circle_month"][4] == f"{held / months:.3f}"
    # The friendships' figures are what they were without circles.
    assert (
        report.contact.held_per_month
        == build_report(
            population(), SETTINGS, municipality="Aarhus", now=NOW, zone=ZONE
        ).contact.held_per_month
    )


def test_a_circle_of_four_is_hidden() -> None:
    records = with_circles([{1, 2, 3, 4}])
    records.gatherings.append(gathering(0, 3))
    report = build_report(records, SETTINGS, municipality="Aarhus", now=NOW, zone=ZONE)
    circles = report.contact.circles
    assert circles is not None  # circles exist, so the report speaks of them...
    # ...but one circle of four people: every figure hidden, the rate with its count.
    assert circles.circles is None and circles.members is None
    assert circles.circle_months is None and circles.held_per_month is None
    cells = circle_cells(report)
    assert set(cells) == {
        "circles_with_a_room",
        "people_in_circles",
        "circle_months",
        "gatherings_held_per_circle_month",
    }
    for cell in cells.values():
        assert cell[4] == "" and cell[5].startswith("hidden"), cell
    # Five circles over time, the same four people in them: the people stay hidden.
    report = build_report(
        with_circles([{1, 2, 3, 4}] * 5, closed={k: 10 * (k + 1) for k in range(4)}),
        SETTINGS,
        municipality="Aarhus",
        now=NOW,
        zone=ZONE,
    )
    circles = report.contact.circles
    assert circles is not None and circles.circles == 5 and circles.members is None
    assert circle_cells(report)["people_in_circles"][4] == ""


def test_without_circles_the_report_says_nothing_of_them() -> None:
    report = build_report(population(), SETTINGS, municipality="Aarhus", now=NOW, zone=ZONE)
    assert report.contact.circles is None
    assert not circle_cells(report)
