"""Thin views: parse, call connec's core, render."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest

from connec.i18n import LANGUAGES
from portal.auth import safe_next
from portal.client_address import forwarded
from portal.keys import LANG_COOKIE

PAGES = Counter("connec_portal_pages_total", "Pages served by the portal.", ["page"])


@aiohttp_jinja2.template("landing.html")
async def landing(request: web.Request) -> dict[str, object]:
    """The front page: for an older person (or a relative), and for volunteers."""
    from portal.choices import opening_hours
    from portal.keys import LANG, SETTINGS

    PAGES.labels("landing").inc()
    lang = request[LANG]
    lines = request.app[SETTINGS].help.lines
    return {
        "help_lines": [
            {
                "municipality": line.municipality,
                "phone": line.phone,
                "hours": opening_hours(line.days, line.opens, line.closes, lang),
            }
            for line in sorted(lines, key=lambda line: line.municipality is None)
        ]
    }


async def switch_language(request: web.Request) -> web.StreamResponse:
    """Remember the chosen language and go back where the person was."""
    lang = request.match_info["lang"]
    if lang not in LANGUAGES:
        raise web.HTTPNotFound()
    response = web.HTTPSeeOther(safe_next(request.query.get("next")))
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, httponly=True, samesite="Lax")
    raise response


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus metrics; only for callers on this machine, never through the proxy."""
    if request.remote not in ("127.0.0.1", "::1") or forwarded(request):
        raise web.HTTPForbidden()
    response = web.Response(body=generate_latest())
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    return response
