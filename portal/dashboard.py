"""The coordinator's dashboard: who waits for what, how the pairs are doing, and charts.

Read-only, apart from the approve and turn-down buttons that post to
:mod:`portal.volunteers`. A coordinator with a municipality sees that municipality's
people; one without sees everybody (see :mod:`portal.permissions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web
from babel.dates import format_date
from babel.numbers import format_decimal
from sqlalchemy import or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from connec.evidence.records import read_answers
from connec.i18n import translations
from connec.models import (
    Booking,
    Circle,
    CircleMember,
    Concern,
    Match,
    Person,
    Proposal,
)
from connec.people import MATCHABLE_ROLES, age_band
from portal import charts, keys
from portal.auth import requires, take_notice, viewer_of
from portal.choices import describe_interests, describe_languages, describe_slots
from portal.csrf import csrf_token

WEEKS = 12
MONTHS = 12
OPEN_PROPOSALS = ("suggested", "asked")
LIST_LIMIT = 200


@dataclass(frozen=True)
class Chart:
    """One chart with the same numbers as a table beside it."""

    title: str
    svg: Any
    rows: list[tuple[str, str]]
    note: str | None = None
    empty: bool = False
    """Nothing to show yet: the page says so rather than drawing a row of zero bars."""


def _scope(column: Any, municipality: str | None) -> Any:
    return true() if municipality is None else column == municipality


def _active_match_people() -> Any:
    live = (
        select(Match.a_id)
        .where(Match.state != "ended")
        .union(select(Match.b_id).where(Match.state != "ended"))
    )
    return live


def _proposed_people() -> Any:
    return (
        select(Proposal.a_id)
        .where(Proposal.state.in_(OPEN_PROPOSALS))
        .union(select(Proposal.b_id).where(Proposal.state.in_(OPEN_PROPOSALS)))
    )


async def _lists(session: AsyncSession, municipality: str | None) -> dict[str, Any]:
    pending = list(
        await session.scalars(
            select(Person)
            .where(
                Person.role == "volunteer",
                Person.approval == "pending",
                _scope(Person.municipality, municipality),
            )
            .order_by(Person.created_at)
            .limit(LIST_LIMIT)
        )
    )
    waiting = list(
        await session.scalars(
            select(Person)
            .where(
                Person.role.in_(MATCHABLE_ROLES),
                Person.approval == "approved",
                Person.state == "active",
                Person.id.not_in(_active_match_people()),
                Person.id.not_in(_proposed_people()),
                _scope(Person.municipality, municipality),
            )
            .order_by(Person.created_at)
            .limit(LIST_LIMIT)
        )
    )
    a, b = aliased(Person), aliased(Person)
    in_scope = or_(_scope(a.municipality, municipality), _scope(b.municipality, municipality))
    proposals = list(
        (
            await session.execute(
                select(Proposal, a, b)
                .join(a, Proposal.a_id == a.id)
                .join(b, Proposal.b_id == b.id)
                .where(Proposal.state.in_(OPEN_PROPOSALS), in_scope)
                .order_by(Proposal.created_at)
                .limit(LIST_LIMIT)
            )
        ).all()
    )
    matches = list(
        (
            await session.execute(
                select(Match, a, b)
                .join(a, Match.a_id == a.id)
                .join(b, Match.b_id == b.id)
                .where(Match.state != "ended", in_scope)
                .order_by(Match.created_at)
                .limit(LIST_LIMIT)
            )
        ).all()
    )
    reporter = aliased(Person)
    concern_query = (
        select(Concern, reporter)
        .outerjoin(reporter, Concern.reporter_id == reporter.id)
        .outerjoin(Match, Concern.match_id == Match.id)
        .outerjoin(a, Match.a_id == a.id)
        .outerjoin(b, Match.b_id == b.id)
        .where(Concern.state == "open")
        .order_by(Concern.created_at)
        .limit(LIST_LIMIT)
    )
    if municipality is not None:
        concern_query = concern_query.where(
            or_(
                reporter.municipality == municipality,
                a.municipality == municipality,
                b.municipality == municipality,
            )
        )
    concerns = list((await session.execute(concern_query)).all())
    return {
        "pending": pending,
        "waiting": waiting,
        "proposals": proposals,
        "matches": matches,
        "concerns": concerns,
    }


async def _charts(
    session: AsyncSession, municipality: str | None, now: datetime, zone: ZoneInfo, lang: str
) -> list[Chart]:
    def _(message: str) -> str:
        return translations(lang, "portal").gettext(message)

    today = now.astimezone(zone).date()
    weeks = charts.last_weeks(today, WEEKS)
    since = datetime.combine(weeks[0], datetime.min.time(), zone) - timedelta(days=1)
    months = charts.last_months(today, MONTHS)
    month_since = datetime.combine(months[0], datetime.min.time(), zone) - timedelta(days=1)
    a, b = aliased(Person), aliased(Person)
    pair_in_scope = or_(_scope(a.municipality, municipality), _scope(b.municipality, municipality))

    joined = await session.scalars(
        select(Person.created_at).where(
            Person.role.in_(MATCHABLE_ROLES),
            Person.approval != "rejected",
            Person.created_at >= since,
            _scope(Person.municipality, municipality),
        )
    )
    matched = await session.scalars(
        select(Match.created_at)
        .join(a, Match.a_id == a.id)
        .join(b, Match.b_id == b.id)
        .where(Match.created_at >= since, pair_in_scope)
    )
    bookings = await session.execute(
        select(Booking.starts_at, Booking.weekly, Booking.state, Booking.updated_at)
        .join(Match, Booking.match_id == Match.id)
        .join(a, Match.a_id == a.id)
        .join(b, Match.b_id == b.id)
        .where(
            pair_in_scope,
            or_(Booking.weekly.is_(True), Booking.starts_at >= since),
        )
    )
    series = [charts.VisitSeries(*row) for row in bookings.all()]
    totals = [
        (answer.at, answer.total)
        for answer in await read_answers(session, municipality, since=month_since, roles=None)
    ]

    def number(value: float) -> str:
        return format_decimal(value, format="#,##0.#", locale=lang)

    week_labels = [str(week.isocalendar().week) for week in weeks]
    week_names = [_("Week %(week)s") % {"week": label} for label in week_labels]
    out: list[Chart] = []
    for title, description, counts in (
        (
            _("New citizens and volunteers per week"),
            _("Bars for the last 12 weeks; the number above each bar is the count."),
            charts.per_week(joined, weeks, zone),
        ),
        (
            _("New pairs per week"),
            _("Bars for the last 12 weeks; the number above each bar is the count."),
            charts.per_week(matched, weeks, zone),
        ),
        (
            _("Visits per week"),
            _("Booked visits that were due, weekly ones counted each week; last 12 weeks."),
            charts.per_week(charts.visits(series, now), weeks, zone),
        ),
    ):
        points = [
            charts.Point(label, value) for label, value in zip(week_labels, counts, strict=True)
        ]
        out.append(
            Chart(
                title,
                charts.bar_chart(
                    points, title=title, description=description, axis=_("Week"), number=number
                ),
                [(name, number(value)) for name, value in zip(week_names, counts, strict=True)],
                empty=not any(counts),
            )
        )
    means = charts.wellbeing_per_month(totals, months, zone)
    month_labels = [format_date(month, "MMM", locale=lang) for month in months]
    title = _("Loneliness, average score per month")
    out.append(
        Chart(
            title,
            charts.line_chart(
                [
                    charts.Point(label, value)
                    for label, value in zip(month_labels, means, strict=True)
                ],
                title=title,
                description=_(
                    "The three-question UCLA loneliness scale: 3 is least lonely, 9 most. "
                    "Months with fewer than 5 answers are left out."
                ),
                axis=_("Month"),
                number=number,
            ),
            [
                (
                    format_date(month, "MMMM y", locale=lang),
                    number(value) if value is not None else _("fewer than 5 answers"),
                )
                for month, value in zip(months, means, strict=True)
            ],
            note=_(
                "Lower is better. Only groups of at least 5 answers are shown, so no one can be recognised."
            ),
            empty=all(value is None for value in means),
        )
    )
    return out


async def _circle_counts(
    session: AsyncSession, municipality: str | None, now: datetime
) -> dict[str, int | None]:
    """Circles going on, the people in them, and gatherings held so far; each None
    when under ``charts.MIN_GROUP``, so a small group is never shown (nobody stands out)."""
    going_on = select(Circle.id).where(Circle.state == "introduced")
    members = (
        await session.execute(
            select(CircleMember.circle_id, Person.id)
            .join(Person, Person.id == CircleMember.person_id)
            .where(
                CircleMember.circle_id.in_(going_on),
                CircleMember.state == "yes",
                _scope(Person.municipality, municipality),
            )
        )
    ).all()
    circle_ids = {circle_id for circle_id, _ in members}
    bookings = (
        await session.scalars(select(Booking).where(Booking.circle_id.in_(circle_ids)))
    ).all()
    held = sum(
        1
        for _ in charts.visits(
            (charts.VisitSeries(b.starts_at, b.weekly, b.state, b.updated_at) for b in bookings),
            now,
        )
    )
    found = {
        "circles": len(circle_ids),
        "members": len({p for _, p in members}),
        "gatherings": held,
    }
    return {key: value if value >= charts.MIN_GROUP else None for key, value in found.items()}


async def dashboard_page(
    request: web.Request,
    *,
    reject_errors: dict[int, str] | None = None,
    reject_form: dict[int, str] | None = None,
    status: int = 200,
) -> web.Response:
    """The dashboard, optionally with a turn-down reason that needs fixing."""
    viewer = viewer_of(request)
    settings = request.app[keys.SETTINGS]
    lang = request[keys.LANG]
    zone = ZoneInfo(settings.timezone)
    now = request.app[keys.CLOCK].now()
    async with request.app[keys.DATABASE].session() as session:
        lists = await _lists(session, viewer.municipality)
        chart_list = await _charts(session, viewer.municipality, now, zone, lang)
        circle_counts = await _circle_counts(session, viewer.municipality, now)
    silence = timedelta(days=settings.visits.silence_days)
    context = {
        **lists,
        "charts": chart_list,
        "circle_counts": circle_counts,
        "min_group": charts.MIN_GROUP,
        "municipality": viewer.municipality,
        "this_year": now.astimezone(zone).year,
        "now": now,
        "silence": silence,
        "server_name": settings.synapse.server_name,
        "reject_errors": reject_errors or {},
        "reject_form": reject_form or {},
        "notice": await take_notice(request),
        "csrf_token": await csrf_token(request),
        "age_band": age_band,
        "number": lambda value: format_decimal(value, format="#,##0.#", locale=lang),
        "languages_text": lambda codes: describe_languages(codes, lang),
        "interests_text": lambda keys, words: describe_interests(keys, words, lang),
        "slots_text": lambda slots: describe_slots(slots, lang),
        "when": lambda instant: (
            format_date(instant.astimezone(zone), "d. MMM y", locale=lang) if instant else ""
        ),
    }
    return aiohttp_jinja2.render_template("dashboard.html", request, context, status=status)


@requires("coordinator")
async def dashboard(request: web.Request) -> web.StreamResponse:
    """The coordinator's overview."""
    return await dashboard_page(request)
