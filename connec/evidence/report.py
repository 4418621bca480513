"""The evidence report for one municipality: every figure, with small groups hidden.

Pure: :class:`~connec.evidence.records.Records`, the settings and the time in; a
:class:`Report` out, whose every hidden figure is None (see :mod:`.suppression`).
The page, the printed report and the CSV all read this one object, so they can
never show different numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from connec.evidence import stats
from connec.evidence.records import PersonRecord, Records
from connec.evidence.suppression import THRESHOLD, Sum, suppress
from connec.settings import EvidenceSettings
from connec.visits import visits

KINDS = ("quarter", "role", "age")
"""The cohorts: quarter of enrolment, role (citizen or peer) and age band."""
AGE_BANDS = ((0, 64, "under-65"), (65, 74, "65-74"), (75, 84, "75-84"), (85, 200, "85+"))
UNKNOWN = "unknown"
ALL = ("all", "all")


@dataclass(frozen=True)
class ChangeRow:
    """Paired change at one horizon; None wherever a figure is hidden."""

    months: int
    people: int | None
    before: float | None
    after: float | None
    change: float | None
    change_low: float | None
    change_high: float | None
    lonely_before: int | None
    moved_out: int | None
    moved_out_share: float | None
    moved_in: int | None
    net: int | None
    net_low: float | None
    net_high: float | None


@dataclass(frozen=True)
class CohortRow:
    kind: str
    group: str
    enrolled: int | None
    matched: int | None
    waiting: int | None
    paired: dict[int, int | None]
    change: dict[int, float | None]


@dataclass(frozen=True)
class RetentionRow:
    months: int
    started: int | None
    lasted: int | None
    share: float | None


@dataclass(frozen=True)
class WaitRow:
    people: int | None
    median_days: float | None


@dataclass(frozen=True)
class CircleContact:
    """Circles with a room (open now or closed since), the report's people in them (said
    yes, did not leave) and their gatherings held per month a circle was open."""

    circles: int | None
    members: int | None
    circle_months: float | None
    held_per_month: float | None


@dataclass(frozen=True)
class Contact:
    friendships: int | None
    friendship_months: float | None
    booked_per_month: float | None
    held_per_month: float | None
    retention: list[RetentionRow]
    to_proposal: WaitRow
    to_room: WaitRow
    waiting_now: int | None
    waiting_median_days: float | None
    circles: CircleContact | None = None
    """None where no circle has had a room: then the report says nothing of circles."""


@dataclass(frozen=True)
class Estimate:
    """Health costs avoided, cautiously: the lower end of the net number who left loneliness."""

    months: int | None
    people_low: int | None
    cost_per_person: float
    cost_source: str
    cost_year: int
    cost_ages: str
    avoided: float | None
    service_cost: float | None
    service_source: str


@dataclass(frozen=True)
class Report:
    municipality: str | None
    made_at: datetime
    lonely_from: int
    lonely_from_source: str
    resamples: int
    seed: int
    threshold: int
    changes: list[ChangeRow]
    cohorts: dict[str, list[CohortRow]]
    contact: Contact
    estimate: Estimate

    @property
    def total(self) -> CohortRow:
        return self.cohorts["all"][0]


def quarter_of(at: datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    return f"{local.year}-{(local.month - 1) // 3 + 1}"


def age_band(birth_year: int | None, year: int) -> str:
    """A broad age band, wide enough that few groups need hiding."""
    if birth_year is None:
        return UNKNOWN
    age = year - birth_year
    return next((name for low, high, name in AGE_BANDS if low <= age <= high), UNKNOWN)


def _groups(person: PersonRecord, zone: ZoneInfo, year: int) -> dict[str, str]:
    return {
        "quarter": quarter_of(person.enrolled_at, zone),
        "role": person.role,
        "age": age_band(person.birth_year, year),
    }


def build_report(
    records: Records,
    settings: EvidenceSettings,
    *,
    municipality: str | None,
    now: datetime,
    zone: ZoneInfo,
) -> Report:
    """Every figure of the report, with what would identify someone hidden."""
    year = now.astimezone(zone).year
    lonely_from = settings.lonely_from
    waiting_ids = {p.id for p in records.people if p.state == "active" and p.id not in records.busy}
    matched_ids = set(records.first_room)
    pairs = {h: stats.pairs_at(records.answers, h) for h in stats.HORIZONS}
    paired_ids = {h: {p.person_id for p in pairs[h]} for h in stats.HORIZONS}
    by_person = {h: {p.person_id: p for p in pairs[h]} for h in stats.HORIZONS}

    values: dict[Hashable, int] = {}
    sums: list[Sum] = []
    virtual: set[Hashable] = set()
    means: dict[Hashable, float] = {}

    groups: dict[str, dict[str, list[PersonRecord]]] = {kind: {} for kind in KINDS}
    for person in records.people:
        for kind, group in _groups(person, zone, year).items():
            groups[kind].setdefault(group, []).append(person)

    def cell(kind: str, group: str, measure: str) -> tuple[str, str, str, str]:
        return ("people", kind, group, measure)

    def add_group(kind: str, group: str, members: list[PersonRecord]) -> None:
        ids = {p.id for p in members}
        counts = {
            "enrolled": len(ids),
            "matched": len(ids & matched_ids),
            "waiting": len(ids & waiting_ids),
        }
        for h in stats.HORIZONS:
            counts[f"paired-{h}"] = len(ids & paired_ids[h])
            mine = [by_person[h][i] for i in ids & paired_ids[h]]
            if mine:
                means[cell(kind, group, f"change-{h}")] = sum(
                    p.after - p.before for p in mine
                ) / len(mine)
        for measure, value in counts.items():
            values[cell(kind, group, measure)] = value
        for measure in counts:
            if measure == "enrolled":
                continue
            rest = cell(kind, group, f"not-{measure}")
            values[rest] = counts["enrolled"] - counts[measure]
            virtual.add(rest)
            sums.append(Sum(cell(kind, group, "enrolled"), (cell(kind, group, measure), rest)))

    add_group(*ALL, records.people)
    for kind in KINDS:
        for group, members in groups[kind].items():
            add_group(kind, group, members)
        measures = ("matched", "waiting", *(f"paired-{h}" for h in stats.HORIZONS))
        # The parts nobody prints add up too: their sum is worked out as easily.
        for measure in ("enrolled", *measures, *(f"not-{m}" for m in measures)):
            sums.append(
                Sum(cell(*ALL, measure), tuple(cell(kind, g, measure) for g in groups[kind]))
            )

    changes = {
        h: stats.change_at(
            pairs[h], h, lonely_from=lonely_from, resamples=settings.resamples, seed=settings.seed
        )
        for h in stats.HORIZONS
    }
    for h, change in changes.items():
        people = cell(*ALL, f"paired-{h}")
        key = ("change", h)
        values.update(
            {
                (*key, "lonely"): change.lonely_before,
                (*key, "not-lonely"): change.not_lonely_before,
                (*key, "out"): change.moved_out,
                (*key, "stayed-lonely"): change.lonely_before - change.moved_out,
                (*key, "in"): change.moved_in,
                (*key, "stayed-well"): change.not_lonely_before - change.moved_in,
                (*key, "net"): change.net_out,
            }
        )
        virtual.update({(*key, "not-lonely"), (*key, "stayed-lonely"), (*key, "stayed-well")})
        sums.extend(
            [
                Sum(people, ((*key, "lonely"), (*key, "not-lonely"))),
                Sum((*key, "lonely"), ((*key, "out"), (*key, "stayed-lonely"))),
                Sum((*key, "not-lonely"), ((*key, "in"), (*key, "stayed-well"))),
                Sum((*key, "out"), ((*key, "net"), (*key, "in")), signed=True),
            ]
        )

    now_friendships = records.friendships
    values[("contact", "friendships")] = len(now_friendships)
    kept = {h: stats.retention(now_friendships, h, now) for h in stats.HORIZONS}
    for h, r in kept.items():
        values.update(
            {
                ("kept", h, "started"): r.started,
                ("kept", h, "lasted"): r.lasted,
                ("kept", h, "ended"): r.ended,
            }
        )
        virtual.add(("kept", h, "ended"))
        sums.append(Sum(("kept", h, "started"), (("kept", h, "lasted"), ("kept", h, "ended"))))
    people_of = {p.id: p for p in records.people}
    to_proposal = stats.waits(
        (people_of[i].enrolled_at, at) for i, at in records.first_asked.items() if i in people_of
    )
    to_room = stats.waits(
        (records.first_asked[i], at)
        for i, at in records.first_room.items()
        if i in records.first_asked and i in people_of
    )
    waiting_since = stats.waits(
        (max(people_of[i].enrolled_at, records.free_since.get(i, people_of[i].enrolled_at)), now)
        for i in waiting_ids
    )
    values[("wait", "proposal")] = to_proposal.people
    values[("wait", "room")] = to_room.people
    if records.circles:
        # Counted like friendships: fewer than five circles or people in them are hidden.
        values[("circles", "made")] = len(records.circles)
        values[("circles", "members")] = len({i for c in records.circles for i in c.members})

    nets = [("change", h, "net") for h in stats.HORIZONS]
    # The share who left loneliness is the report's point: hide anything else first.
    outs = [("change", h, "out") for h in stats.HORIZONS]
    hidden = suppress(values, sums, virtual=virtual, not_counts=nets, keep=outs)

    def shown(key: Hashable) -> int | None:
        return None if key in hidden else values[key]

    def if_shown(key: Hashable, value: float | None) -> float | None:
        return None if key in hidden else value

    def share(part: int | None, whole: int | None) -> float | None:
        return part / whole if part is not None and whole else None

    cohorts: dict[str, list[CohortRow]] = {}
    for kind, named in (("all", {"all": records.people}), *((k, groups[k]) for k in KINDS)):
        rows = []
        for group in sorted(named):
            paired = {h: shown(cell(kind, group, f"paired-{h}")) for h in stats.HORIZONS}
            rows.append(
                CohortRow(
                    kind,
                    group,
                    shown(cell(kind, group, "enrolled")),
                    shown(cell(kind, group, "matched")),
                    shown(cell(kind, group, "waiting")),
                    paired,
                    {
                        h: means.get(cell(kind, group, f"change-{h}"))
                        if paired[h] is not None
                        else None
                        for h in stats.HORIZONS
                    },
                )
            )
        cohorts[kind] = rows

    change_rows = []
    for h, c in changes.items():
        people_key = cell(*ALL, f"paired-{h}")
        key = ("change", h)
        net_shown = shown((*key, "net"))
        change_rows.append(
            ChangeRow(
                months=h,
                people=shown(people_key),
                before=if_shown(people_key, c.before),
                after=if_shown(people_key, c.after),
                change=if_shown(people_key, c.change),
                change_low=if_shown(
                    people_key, c.change_interval.low if c.change_interval else None
                ),
                change_high=if_shown(
                    people_key, c.change_interval.high if c.change_interval else None
                ),
                lonely_before=shown((*key, "lonely")),
                moved_out=shown((*key, "out")),
                moved_out_share=share(shown((*key, "out")), shown((*key, "lonely"))),
                moved_in=shown((*key, "in")),
                net=net_shown,
                # An interval is no count: shown whenever its group of people is.
                net_low=if_shown(people_key, c.net_interval.low if c.net_interval else None),
                net_high=if_shown(people_key, c.net_interval.high if c.net_interval else None),
            )
        )

    friendships = shown(("contact", "friendships"))
    months = stats.friendship_months(now_friendships, now)
    booked = len({(b.match_id, b.number) for b in records.bookings if b.confirmed})
    held = sum(1 for _ in visits((b.series for b in records.bookings), now))
    contact = Contact(
        friendships=friendships,
        friendship_months=months if friendships is not None else None,
        booked_per_month=stats.per_friendship_month(booked, months)
        if friendships is not None
        else None,
        held_per_month=stats.per_friendship_month(held, months)
        if friendships is not None
        else None,
        retention=[
            RetentionRow(
                h,
                shown(("kept", h, "started")),
                shown(("kept", h, "lasted")),
                share(shown(("kept", h, "lasted")), shown(("kept", h, "started"))),
            )
            for h in stats.HORIZONS
        ],
        to_proposal=WaitRow(
            shown(("wait", "proposal")), if_shown(("wait", "proposal"), to_proposal.median_days)
        ),
        to_room=WaitRow(shown(("wait", "room")), if_shown(("wait", "room"), to_room.median_days)),
        waiting_now=shown(cell(*ALL, "waiting")),
        waiting_median_days=if_shown(cell(*ALL, "waiting"), waiting_since.median_days),
        circles=circle_contact(records, now, shown) if records.circles else None,
    )
    return Report(
        municipality=municipality,
        made_at=now,
        lonely_from=lonely_from,
        lonely_from_source=settings.lonely_from_source,
        resamples=settings.resamples,
        seed=settings.seed,
        threshold=THRESHOLD,
        changes=change_rows,
        cohorts=cohorts,
        contact=contact,
        estimate=estimate(change_rows, settings),
    )


def circle_contact(
    records: Records, now: datetime, shown: Callable[[Hashable], int | None]
) -> CircleContact:
    """The circles' figures; a rate only beside a shown number of circles, as for visits."""
    circles = shown(("circles", "made"))
    months = stats.friendship_months(records.circles, now)
    held = stats.gatherings_held(
        records.circles, ((g.circle_id, g.series) for g in records.gatherings), now
    )
    return CircleContact(
        circles=circles,
        members=shown(("circles", "members")),
        circle_months=months if circles is not None else None,
        held_per_month=stats.per_friendship_month(held, months) if circles is not None else None,
    )


def estimate(changes: list[ChangeRow], settings: EvidenceSettings) -> Estimate:
    """Health costs avoided: the lower end of the net number who left loneliness, at the
    longest horizon with shown figures, times the yearly extra cost per lonely person."""
    usable = [c for c in changes if c.net_low is not None]
    chosen = usable[-1] if usable else None
    people_low = (
        max(0, math.floor(chosen.net_low)) if chosen and chosen.net_low is not None else None
    )
    return Estimate(
        months=chosen.months if chosen else None,
        people_low=people_low,
        cost_per_person=settings.health_cost_per_lonely_person,
        cost_source=settings.health_cost_source,
        cost_year=settings.health_cost_year,
        cost_ages=settings.health_cost_ages,
        avoided=people_low * settings.health_cost_per_lonely_person
        if people_low is not None
        else None,
        service_cost=settings.service_cost_per_year,
        service_source=settings.service_cost_source,
    )
