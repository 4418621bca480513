"""The report put together from fixed records: every figure worked out by hand, and small
groups hidden in the report itself, not only in the suppression's own tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from connec.evidence.export import rows
from connec.evidence.records import PersonRecord, Records
from connec.evidence.report import age_band, build_report, quarter_of
from connec.evidence.stats import Answer, Friendship
from connec.settings import EvidenceSettings, load_settings

ZONE = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
SETTINGS = EvidenceSettings(resamples=400)


def population(size: int = 12, peers: int = 0) -> Records:
    """``size`` people who signed up a year ago the same day, each with a friend from the
    next day (kept all year), a first answer of 8 and 6 three months later."""
    records = Records()
    enrolled = NOW - timedelta(days=400)
    for i in range(size):
        records.people.append(
            PersonRecord(i, "peer" if i < peers else "citizen", 1948, enrolled, "active")
        )
        records.first_asked[i] = enrolled + timedelta(days=10)
        records.first_room[i] = enrolled + timedelta(days=12)
        records.busy.add(i)
        records.friendships.append(Friendship(i, enrolled + timedelta(days=12), None))
        records.answers += [
            Answer(i, enrolled + timedelta(days=13), 8),
            Answer(i, enrolled + timedelta(days=13 + 91), 6),
        ]
    return records


def test_a_whole_group_that_left_loneliness() -> None:
    report = build_report(population(), SETTINGS, municipality="Aarhus", now=NOW, zone=ZONE)
    three = report.changes[0]
    assert (three.people, three.before, three.after, three.change) == (12, 8, 6, -2)
    assert (three.change_low, three.change_high) == (-2, -2)
    assert (three.lonely_before, three.moved_out, three.moved_out_share) == (12, 12, 1.0)
    # Nobody became lonely: a zero names nobody, so it shows, and so does the net number.
    assert (three.moved_in, three.net, three.net_low, three.net_high) == (0, 12, 12, 12)
    # Nobody answered again near 6 or 12 months: no figures, but nobody to hide either.
    assert report.changes[1].people == 0 and report.changes[1].change is None
    # The estimate: 12 people at the lower end, after 3 months, x DKK 7,960.
    assert report.estimate.months == 3 and report.estimate.people_low == 12
    assert report.estimate.avoided == 12 * 7960


def test_contact_figures_from_the_same_records() -> None:
    records = population()
    report = build_report(records, SETTINGS, municipality="Aarhus", now=NOW, zone=ZONE)
    contact = report.contact
    assert contact.friendships == 12
    assert contact.friendship_months is not None
    # 388 days each, in months of 365.25 / 12 days.
    assert abs(contact.friendship_months - 12 * 388 / (365.25 / 12)) < 1e-6
    assert contact.to_proposal.median_days == 10 and contact.to_room.median_days == 2
    # Everyone kept their friend for 3, 6 and 12 months.
    assert [(r.started, r.lasted, r.share) for r in contact.retention] == [(12, 12, 1.0)] * 3
    # Nobody waits.
    assert contact.waiting_now == 0


def test_a_group_of_three_is_hidden_with_the_group_that_would_give_it_away() -> None:
    report = build_report(
        population(size=12, peers=3), SETTINGS, municipality="Aarhus", now=NOW, zone=ZONE
    )
    roles = {row.group: row for row in report.cohorts["role"]}
    assert roles["peer"].enrolled is None  # three people
    assert roles["citizen"].enrolled is None  # else 12 - 9 = 3
    assert report.total.enrolled == 12
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
    assert cells["3_months_mean_change"][4] == "-2.000"  # numbers stay numbers
