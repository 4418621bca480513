"""Kind pages for when something is refused or goes wrong, in the person's language.

Views raise aiohttp's ``HTTPForbidden`` or ``HTTPNotFound`` as usual;
:func:`problems_middleware` turns them, and anything unexpected, into a page that
says what happened and what to do next, with the same status code.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp_jinja2
from aiohttp import web

log = logging.getLogger(__name__)

KINDS = {
    400: "unreadable",
    403: "forbidden",
    404: "not_found",
    405: "not_found",
    413: "too_large",
    503: "unavailable",
}


async def problem_page(request: web.Request, kind: str, *, status: int) -> web.Response:
    """The kind page for ``kind`` (csrf, forbidden, not_found, unavailable, error)."""
    response = aiohttp_jinja2.render_template(
        "problem.html", request, {"kind": kind}, status=status
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@web.middleware
async def problems_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Refusals and failures as kind pages; redirects and successes pass through."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        kind = KINDS.get(error.status)
        if kind is None or request.path.startswith("/static/"):
            raise
        return await problem_page(request, kind, status=error.status)
    except Exception:
        log.exception("the portal failed to answer", extra={"path": request.path})
        return await problem_page(request, "error", status=500)
