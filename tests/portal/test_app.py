"""The portal answers, in Danish first and in English on request."""

from __future__ import annotations

from aiohttp.test_utils import TestClient


async def test_landing_page_speaks_danish_first(portal: TestClient) -> None:
    response = await portal.get("/")
    assert response.status == 200
    page = await response.text()
    assert '<html lang="da">' in page
    assert "Online besøgsvenner for ældre" in page
    assert "Bliv frivillig" in page


async def test_the_language_switch_remembers_english(portal: TestClient) -> None:
    response = await portal.get("/sprog/en?next=/", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/"
    page = await (await portal.get("/")).text()
    assert '<html lang="en">' in page and "Become a volunteer" in page


async def test_the_language_switch_never_redirects_away(portal: TestClient) -> None:
    response = await portal.get("/sprog/en?next=//evil.example", allow_redirects=False)
    assert response.headers["Location"] == "/"
    assert (await portal.get("/sprog/xx")).status == 404


async def test_health_and_metrics(portal: TestClient) -> None:
    assert (await (await portal.get("/health")).json()) == {"status": "ok"}
    metrics = await (await portal.get("/metrics")).text()
    assert "connec_portal_pages_total" in metrics
