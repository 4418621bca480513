"""Element Web shows the portal's home and welcome pages; the theme preview shows contrast."""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient

from connec.element import load_themes

ELEMENT_PAGES = ("/element/home", "/element/welcome", "/element/themes")


async def english(portal: TestClient) -> None:
    response = await portal.get("/sprog/en?next=/", allow_redirects=False)
    assert response.status == 303


@pytest.mark.parametrize("path", ELEMENT_PAGES)
async def test_element_on_another_host_may_fetch_each_page(portal: TestClient, path: str) -> None:
    response = await portal.get(path, headers={"Origin": "https://chat.example.dk"})
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "frame-ancestors 'self' *" in response.headers["Content-Security-Policy"]
    page = await response.text()
    assert '<html lang="da"' in page


async def test_the_home_page_offers_six_choices_in_danish(portal: TestClient) -> None:
    page = await (await portal.get("/element/home")).text()
    for choice in (
        "Skriv til din besøgsven",
        "Book et besøg",
        "Vær med i en cirkel",
        "Sådan ringer du op",
        "Få hjælp",
        "Gør teksten større",
    ):
        assert choice in page
    assert "Tryk på jeres fælles rum i listen til venstre" in page
    # Booking in everyday words first, as the scheduler reads them; the command still works.
    assert "»Skal vi ses på torsdag kl 14?«" in page and "giv spørgsmålet en 👍" in page
    assert "!besøg torsdag kl 14" in page
    assert "Skriv »hjælp« til connec" in page
    # Text size is set on each device: config.json cannot set it (docs/element.md).
    assert "Ctrl" in page and "på hver enhed for sig" in page
    assert "vært Kolonihaven" in page  # a circle: join one, or host one yourself
    assert page.count('role="img"') == 6


async def test_the_home_page_switches_to_english(portal: TestClient) -> None:
    await english(portal)
    page = await (await portal.get("/element/home")).text()
    assert '<html lang="en"' in page
    assert "Write to your visiting friend" in page and "!visit Thursday 2pm" in page
    assert "Skriv til din besøgsven" not in page


async def test_the_stylesheet_is_linked_by_absolute_url(portal: TestClient) -> None:
    # Element inlines the page into its own window: a relative link would point at
    # Element's host.
    page = await (await portal.get("/element/home")).text()
    origin = str(portal.make_url("/")).rstrip("/")
    assert f'href="{origin}/static/element.css"' in page
    css = await portal.get("/static/element.css")
    assert css.status == 200 and css.content_type == "text/css"


async def test_the_welcome_page_explains_signing_in(portal: TestClient) -> None:
    page = await (await portal.get("/element/welcome")).text()
    assert "Velkommen til connec" in page
    assert "velkomstbrevet" in page and "Har du mistet brevet eller adgangskoden?" in page
    assert re.search(r'<a class="connec-button" href="#/login">\s*Log ind\s*</a>', page)
    # Letter, welcome page and Element agree: user names and passwords are small letters.
    assert "små bogstaver, tal, punktummer og bindestreger" in page
    assert "store og små bogstaver" not in page


async def test_the_welcome_page_switches_to_english(portal: TestClient) -> None:
    await english(portal)
    page = await (await portal.get("/element/welcome")).text()
    assert "Welcome to connec" in page and ">Sign in</a>" in page


async def test_the_theme_preview_shows_each_theme_and_its_ratios(portal: TestClient) -> None:
    page = await (await portal.get("/element/themes")).text()
    assert "Element-temaer" in page
    for name in ("Online Befriender Orange", "Online Befriender Green"):
        assert name in page
    # connec/contrast.py checks 108 pairs in each theme, and every pair passes.
    assert page.count("Alle 108 par har nok kontrast.") == 2
    # One figure per pair, in Danish notation, rounded down.
    figures = re.findall(r'<td class="connec-ratio">(\d+,\d\d):1</td>', page)
    assert len(figures) == 216
    assert page.count("✓ Består<") == 216
    # The green theme's body text #15241a on #f8fbf5: 15.478:1 by WCAG 2.2's formula.
    assert figures[0] == "15,47"
    assert "mindst 7:1" in page and "mindst 4,5:1" in page and "mindst 3:1" in page


async def test_the_theme_preview_switches_to_english(portal: TestClient) -> None:
    await english(portal)
    page = await (await portal.get("/element/themes")).text()
    assert "Element themes" in page and "at least 4.5:1" in page
    assert re.search(r'<td class="connec-ratio">\d+\.\d\d:1</td>', page)


async def test_a_theme_with_pale_text_is_shown_failing(
    portal: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from portal import element_views

    orange = next(theme for theme in load_themes() if "Orange" in theme.name)
    pale = dataclasses.replace(orange, colors={**orange.colors, "timeline-text-color": "#999999"})
    monkeypatch.setattr(element_views, "load_themes", lambda: [pale])
    page = await (await portal.get("/element/themes")).text()
    # Grey #999999 is body text on 13 backgrounds, each needing 7:1; on the timeline
    # background #fffaf3 it reaches only 2.743:1. The other 95 pairs do not use it.
    assert "13 af 108 par har ikke nok kontrast." in page
    assert page.count("✗ Består ikke<") == 13
    assert '<td class="connec-ratio">2,74:1</td>' in page


def test_ratios_are_rounded_down_so_a_fail_never_looks_like_a_pass() -> None:
    from portal.element_views import ratio_text

    assert ratio_text(4.4999, "da") == "4,49"
    assert ratio_text(4.4999, "en") == "4.49"
    assert ratio_text(7.0, "da") == "7,00"


async def test_the_logo_element_shows_above_its_sign_in_form_is_served(
    portal: TestClient,
) -> None:
    response = await portal.get("/static/connec-logo.svg")
    assert response.status == 200 and response.content_type == "image/svg+xml"
    assert "connec" in await response.text()
