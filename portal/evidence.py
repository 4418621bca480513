"""The evidence report for coordinators: a page that prints as the council's PDF, and its CSV.

A coordinator with a municipality sees that municipality's report and no other; one
without (like the one ``connec init`` makes) sees the whole deployment, or one
municipality with ``?kommune=``. The figures come from :mod:`connec.evidence`; they
are worked out in a thread, so the portal keeps answering meanwhile.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web
from babel.dates import format_datetime
from babel.numbers import format_decimal, format_percent

from connec.evidence.export import to_csv
from connec.evidence.records import read_records
from connec.evidence.report import Report, build_report
from connec.evidence.stats import WINDOWS
from connec.municipalities import MUNICIPALITIES
from portal import keys
from portal.auth import requires, viewer_of


def _municipality(request: web.Request) -> str | None:
    """Whose report: the coordinator's own municipality, or the one asked for."""
    viewer = viewer_of(request)
    asked = request.query.get("kommune", "").strip() or None
    if viewer.municipality is not None:
        if asked is not None and asked != viewer.municipality:
            raise web.HTTPForbidden()
        return viewer.municipality
    if asked is not None and asked not in MUNICIPALITIES:
        raise web.HTTPNotFound()
    return asked


async def _report(request: web.Request, municipality: str | None) -> Report:
    settings = request.app[keys.SETTINGS]
    async with request.app[keys.DATABASE].session() as session:
        records = await read_records(session, municipality)
    return await asyncio.to_thread(
        build_report,
        records,
        settings.evidence,
        municipality=municipality,
        now=request.app[keys.CLOCK].now(),
        zone=ZoneInfo(settings.timezone),
    )


def _formatters(lang: str, zone: ZoneInfo) -> dict[str, Any]:
    def number(value: float | None, digits: int = 1) -> str:
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return "" if value is None else format_decimal(value, format=pattern, locale=lang)

    def signed(value: float | None, digits: int = 1) -> str:
        if value is None:
            return ""
        text = number(abs(value), digits)
        return (
            f"−{text}"
            if round(value, digits) < 0
            else f"+{text}"
            if round(value, digits) > 0
            else text
        )

    def percent(value: float | None) -> str:
        return "" if value is None else format_percent(value, format="#,##0 %", locale=lang)

    return {
        "number": number,
        "signed": signed,
        "percent": percent,
        "money": lambda value: "" if value is None else number(value, 0),
        "moment": lambda instant: format_datetime(
            instant.astimezone(zone), "long", tzinfo=zone, locale=lang
        ),
    }


@requires("coordinator")
async def report_page(request: web.Request) -> web.StreamResponse:
    """The report on a page; the browser's Print makes the PDF for the council."""
    municipality = _municipality(request)
    report = await _report(request, municipality)
    settings = request.app[keys.SETTINGS]
    context = {
        "report": report,
        "windows": WINDOWS,
        "may_choose": viewer_of(request).municipality is None,
        "municipalities": MUNICIPALITIES,
        **_formatters(request[keys.LANG], ZoneInfo(settings.timezone)),
    }
    return aiohttp_jinja2.render_template("evidence.html", request, context)


@requires("coordinator")
async def report_csv(request: web.Request) -> web.StreamResponse:
    """The same figures as CSV; a hidden figure has no number."""
    municipality = _municipality(request)
    report = await _report(request, municipality)
    day = report.made_at.date().isoformat()
    name = f"connec-rapport-{(municipality or 'alle').lower()}-{day}.csv"
    return web.Response(
        body=to_csv(report).encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}"},
    )
