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


async def test_each_request_is_answered_in_its_own_language(portal: TestClient) -> None:
    """Templates are compiled per language: one connection, and people side by side."""
    import asyncio

    async def page(lang: str) -> str:
        response = await portal.get("/frivillig", cookies={"connec_lang": lang})
        return await response.text()

    for lang in ("en", "da", "en"):  # one keep-alive connection, the language changing
        text = await page(lang)
        assert f'<html lang="{lang}">' in text
        assert ("Become an online visiting friend" in text) == (lang == "en")
        assert ("Bliv online besøgsven" in text) == (lang == "da")
    pages = await asyncio.gather(*(page(lang) for lang in ["da", "en"] * 10))
    for lang, text in zip(["da", "en"] * 10, pages, strict=True):
        assert ("Your name" in text) == (lang == "en") and ("Dit navn" in text) == (lang == "da")


OFF_SITE = (
    "//evil.example",
    "/%09/evil.example",  # browsers drop the tab: //evil.example
    "/%0a/evil.example",
    "/%0d/evil.example",
    "/%5Cevil.example",  # a backslash is a slash to browsers
    "/%20/evil.example",
    "https://evil.example",
    "/%2F/evil.example",
    "evil.example",
)


async def test_the_language_switch_never_redirects_away(portal: TestClient) -> None:
    for next_ in OFF_SITE:
        response = await portal.get(f"/sprog/en?next={next_}", allow_redirects=False)
        assert response.headers["Location"] == "/", next_
    response = await portal.get("/sprog/en?next=/frivillig?x=1", allow_redirects=False)
    assert response.headers["Location"] == "/frivillig?x=1"
    assert (await portal.get("/sprog/xx")).status == 404


async def test_health_and_metrics(portal: TestClient) -> None:
    assert (await (await portal.get("/health")).json()) == {"status": "ok"}
    metrics = await (await portal.get("/metrics")).text()
    assert "connec_portal_pages_total" in metrics


async def test_the_portal_process_settles_before_its_first_request(tmp_path) -> None:
    """Templates compiled in both languages, start-up objects frozen, fair switching."""
    import gc
    import sys

    import aiohttp_jinja2

    from portal.main import SWITCH_INTERVAL, settle
    from tests.portal.conftest import standalone_app

    app = standalone_app(tmp_path)
    interval = sys.getswitchinterval()
    try:
        await settle(app)
        assert gc.get_freeze_count() > 10_000
        assert sys.getswitchinterval() == SWITCH_INTERVAL
        environment = aiohttp_jinja2.get_env(app)
        compiled = {key[1] for key in environment.cache}  # type: ignore[union-attr]
        assert {"da/volunteer_sign_up.html", "en/volunteer_sign_up.html"} <= compiled
    finally:
        gc.unfreeze()
        sys.setswitchinterval(interval)
