"""The pages Element Web shows from the portal, and a preview of connec's Element themes.

Element Web fetches ``embedded_pages.home_url`` and ``welcome_url`` from the browser and
inlines their HTML into its own window (element-theme/config.json.j2). The fetch is
cross-origin, so these responses carry ``Access-Control-Allow-Origin: *``; that is safe
because they hold no personal data and read no session. The stylesheet is linked by
absolute URL, since relative URLs would resolve against Element's host once inlined.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from babel.numbers import format_decimal

from connec.contrast import BODY, NON_TEXT, SECONDARY, Pair, theme_pairs
from connec.element import load_themes
from portal.keys import LANG, SETTINGS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_GROUPS: tuple[tuple[float, str], ...] = (
    (BODY, "body"),
    (SECONDARY, "secondary"),
    (NON_TEXT, "non-text"),
)


def open_to_element(handler: Handler) -> Handler:
    """Let Element Web, on any host, fetch the page from the browser."""

    @functools.wraps(handler)
    async def answer(request: web.Request) -> web.StreamResponse:
        response = await handler(request)
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    return answer


def _portal_origin(request: web.Request) -> str:
    """Where the portal answers, as the browser sees it: the configured public URL first."""
    public_url = request.app[SETTINGS].portal.public_url
    return public_url.rstrip("/") if public_url else str(request.url.origin())


def ratio_text(ratio: float, lang: str) -> str:
    """A contrast ratio with two decimals in ``lang``'s notation ("4,49" in Danish).

    Rounded down, so a pair that fails never shows a figure that looks like a pass.
    """
    return format_decimal(math.floor(ratio * 100) / 100, format="0.00", locale=lang)


def _pair_row(pair: Pair, lang: str) -> dict[str, Any]:
    return {
        "foreground": pair.foreground,
        "background": pair.background,
        "fg": pair.fg,
        "bg": pair.bg,
        "ratio": ratio_text(pair.ratio, lang),
        "passes": pair.passes,
    }


def _swatches(colours: dict[str, Any]) -> list[tuple[str, str]]:
    swatches: list[tuple[str, str]] = []
    for key, value in colours.items():
        if isinstance(value, list):
            swatches.extend((f"{key}[{index}]", str(entry)) for index, entry in enumerate(value))
        else:
            swatches.append((key, str(value)))
    return swatches


@open_to_element
@aiohttp_jinja2.template("element/home.html")
async def element_home(request: web.Request) -> dict[str, object]:
    """Element's home page: what to do, in four large choices."""
    return {"portal_origin": _portal_origin(request)}


@open_to_element
@aiohttp_jinja2.template("element/welcome.html")
async def element_welcome(request: web.Request) -> dict[str, object]:
    """Element's page before sign-in: welcome, and how to sign in."""
    return {"portal_origin": _portal_origin(request)}


@open_to_element
@aiohttp_jinja2.template("element/themes.html")
async def element_themes(request: web.Request) -> dict[str, object]:
    """Both themes' colours, and the contrast of every pair connec.contrast checks."""
    lang = request.get(LANG, "da")
    themes = []
    for theme in load_themes():
        pairs = theme_pairs(theme)
        themes.append(
            {
                "name": theme.name,
                "element_id": theme.element_id,
                "swatches": _swatches(dict(theme.colors)),
                "compound": _swatches(dict(theme.compound)),
                "total": len(pairs),
                "failed": sum(not pair.passes for pair in pairs),
                "groups": [
                    {
                        "kind": kind,
                        "minimum": format_decimal(minimum, locale=lang),
                        "pairs": [_pair_row(p, lang) for p in pairs if p.minimum == minimum],
                    }
                    for minimum, kind in _GROUPS
                ],
            }
        )
    return {"themes": themes, "portal_origin": _portal_origin(request)}
