"""In a real browser: Element's pages and the landing page are easy to read and to tap.

Each page is checked with axe-core (no serious or critical findings; on Element's own
pages all text, links too, at 7:1), and a full-page screenshot is kept in test-artifacts/screenshots/ for people to look at.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests import browser as browser_helpers
from tests.browser import accessibility_violations, describe_violations, screenshot

PAGES = {
    "landing": "/",
    "element-home": "/element/home",
    "element-welcome": "/element/welcome",
    "element-themes": "/element/themes",
}

# Pages styled by element.css alone hold every text, links too, to 7:1. The portal's
# own layout (landing page, theme preview) is held to axe-core's default rules.
ALL_TEXT_AT_7 = {"/element/home", "/element/welcome"}

SMALLEST_TEXT_PX = 18
SMALLEST_TARGET_PX = 48

# Every visible text's computed size, and every link or button's size on screen.
_MEASURE = """() => {
  const visible = (el) => {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    return box.width > 0 && box.height > 0 && style.visibility !== "hidden";
  };
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || !visible(el) || el.closest("svg")) continue;
    texts.push({text: node.textContent.trim().slice(0, 40),
                px: parseFloat(getComputedStyle(el).fontSize)});
  }
  const targets = [...document.querySelectorAll("a[href], button")].filter(visible).map(
    (el) => ({text: el.textContent.trim(), width: el.getBoundingClientRect().width,
              height: el.getBoundingClientRect().height}));
  return {texts, targets};
}"""


@pytest.mark.browser
@pytest.mark.parametrize(("name", "path"), PAGES.items())
async def test_page_has_no_serious_accessibility_problems(
    page, live_portal: str, name: str, path: str
) -> None:
    response = await page.goto(live_portal + path)
    assert response is not None and response.status == 200
    await screenshot(page, name)
    violations = await accessibility_violations(page, enhanced_contrast=path in ALL_TEXT_AT_7)
    assert not violations, f"{path}:\n{describe_violations(violations)}"


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/element/home", "/element/welcome"])
async def test_english_pages_are_accessible_too(page, live_portal: str, path: str) -> None:
    await page.goto(f"{live_portal}/sprog/en?next={path}")
    assert await page.get_attribute("html", "lang") == "en"
    await screenshot(page, path.strip("/").replace("/", "-") + "-en")
    violations = await accessibility_violations(page, enhanced_contrast=True)
    assert not violations, f"{path} in English:\n{describe_violations(violations)}"


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/element/home", "/element/welcome"])
async def test_text_is_large_and_everything_tappable_is_big(
    page, live_portal: str, path: str
) -> None:
    await page.goto(live_portal + path)
    measured = await page.evaluate(_MEASURE)
    small = [t for t in measured["texts"] if t["px"] < SMALLEST_TEXT_PX]
    assert not small, f"text under {SMALLEST_TEXT_PX}px on {path}: {small}"
    tiny = [
        t
        for t in measured["targets"]
        if t["width"] < SMALLEST_TARGET_PX or t["height"] < SMALLEST_TARGET_PX
    ]
    assert measured["targets"] and not tiny, f"targets under {SMALLEST_TARGET_PX}px: {tiny}"


@pytest.mark.browser
async def test_the_pages_are_readable_on_a_phone(page, live_portal: str) -> None:
    await page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/element/home", "/element/welcome"):
        await page.goto(live_portal + path)
        overflow = await page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways on a phone"
        await screenshot(page, path.strip("/").replace("/", "-") + "-phone")


# A stand-in for Element Web on another origin: like Element's EmbeddedPage component,
# it fetches the page from the browser and puts the HTML inside its own page.
_FAKE_ELEMENT = """<!doctype html>
<html lang="da"><head><meta charset="utf-8"><title>Element</title></head>
<body><div class="mx_{kind}"><div class="mx_{kind}_body" id="embedded"></div></div>
<script>
fetch({url!r}).then((response) => response.text()).then((html) => {{
  document.getElementById("embedded").innerHTML = html;
  document.body.dataset.embedded = "yes";
}}, (error) => {{ document.body.dataset.embedded = "failed: " + error; }});
</script></body></html>"""


@pytest.fixture
async def fake_element(live_portal: str) -> AsyncIterator[str]:
    """Element's stand-in, served on another free loopback port: another origin."""

    async def embedding(request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        html = _FAKE_ELEMENT.format(
            kind="HomePage" if kind == "home" else "WelcomePage",
            url=f"{live_portal}/element/{kind}",
        )
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/{kind:home|welcome}", embedding)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.mark.browser
@pytest.mark.parametrize("kind", ["home", "welcome"])
async def test_element_on_another_origin_can_embed_the_page(
    page, fake_element: str, kind: str
) -> None:
    await page.goto(f"{fake_element}/{kind}")
    await page.wait_for_function("() => document.body.dataset.embedded", timeout=10_000)
    assert await page.evaluate("() => document.body.dataset.embedded") == "yes"
    # The stylesheet came along from the portal's origin and styles only connec's part.
    await page.wait_for_function(
        "() => parseFloat(getComputedStyle(document.querySelector('.connec-element')).fontSize) >= 20",
        timeout=10_000,
    )
    assert await page.locator(".connec-languages").is_hidden()
    await screenshot(page, f"element-{kind}-embedded")
    violations = await accessibility_violations(page, enhanced_contrast=True)
    assert not violations, f"embedded {kind}:\n{describe_violations(violations)}"


def test_a_missing_browser_skips_saying_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # (In CI the skip fails the run: tests/test_ci.py.)
    monkeypatch.setattr(browser_helpers, "CHROMIUM", browser_helpers.REPO / "no-such-chromium")
    with pytest.raises(pytest.skip.Exception, match=r"no-such-chromium.*apt-get install"):
        browser_helpers.require_browser()
