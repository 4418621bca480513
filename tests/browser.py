"""Real-browser testing: Debian's Chromium driven by Playwright, checked with axe-core.

Import the fixtures into a ``conftest.py`` to use them (tests/portal/conftest.py does)::

    from tests.browser import browser, page

``browser`` launches Chromium once per test session; ``page`` gives each test a fresh,
cookie-free page. :func:`accessibility_violations` runs axe-core, which
axe-playwright-python ships as ``axe.min.js`` inside the package, so nothing is fetched
from the network. :func:`screenshot` saves a full-page picture under
``test-artifacts/screenshots/``.

The browser is Debian's ``chromium`` package; Playwright's own browser downloads are
never used. Without it the tests skip (and in CI, where a skip fails the run, they fail:
see tests/ci.py).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, ViewportSize

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
REPO = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"

VIEWPORT: ViewportSize = {"width": 1024, "height": 768}
"""A landscape tablet: how many citizens meet connec."""

BLOCKING_IMPACTS = frozenset({"serious", "critical"})
"""axe-core impacts that fail a test; "minor" and "moderate" findings are reported only."""


def browser_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"{CHROMIUM} is missing: apt-get install chromium"
    try:
        import axe_playwright_python  # noqa: F401
        import playwright.async_api  # noqa: F401
    except ImportError as error:
        return f"{error.name} is missing: pip install playwright axe-playwright-python"
    return None


def require_browser() -> None:
    """Skip the calling test when the browser is missing, saying how to install it."""
    reason = browser_missing_reason()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, launched once for the whole session."""
    require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh page in its own context (no cookies), the size of a landscape tablet."""
    context = await browser.new_context(viewport=VIEWPORT, locale="da-DK")
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def axe_violations(
    page: Page,
    *,
    exclude: Iterable[str] = (),
    enhanced_contrast: bool = False,
    target_size: bool = False,
) -> list[dict[str, Any]]:
    """Every axe-core violation on ``page``.

    ``exclude`` lists CSS selectors to leave out, e.g. colour samples that show a
    theme's colours rather than the page's own text. ``enhanced_contrast`` also holds
    all text, links included, to 7:1 (WCAG 1.4.6), which axe-core leaves off by default;
    ``target_size`` turns on the check that targets are big enough (WCAG 2.5.8).
    """
    from axe_playwright_python.async_playwright import Axe

    await page.evaluate(Axe().axe_script)
    context = {"include": [["html"]], "exclude": [[selector] for selector in exclude]}
    options: dict[str, Any] = {"resultTypes": ["violations"]}
    rules: dict[str, Any] = {}
    if enhanced_contrast:
        rules["color-contrast-enhanced"] = {"enabled": True}
    if target_size:
        rules["target-size"] = {"enabled": True}
    if rules:
        options["rules"] = rules
    results = await page.evaluate(
        "([context, options]) => axe.run(context, options)", [context, options]
    )
    return list(results["violations"])


async def accessibility_violations(
    page: Page,
    *,
    exclude: Iterable[str] = (),
    enhanced_contrast: bool = False,
    target_size: bool = False,
) -> list[dict[str, Any]]:
    """The axe-core violations on ``page`` serious or critical enough to fail a test."""
    violations = await axe_violations(
        page, exclude=exclude, enhanced_contrast=enhanced_contrast, target_size=target_size
    )
    return [v for v in violations if v["impact"] in BLOCKING_IMPACTS]


def describe_violations(violations: Iterable[dict[str, Any]]) -> str:
    """A readable list of violations for a failure message: rule, impact, where, why."""
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:10]:
            lines.append(f"    at {', '.join(map(str, node['target']))}")
            if node.get("failureSummary"):
                lines.append("      " + node["failureSummary"].replace("\n", "\n      "))
    return "\n".join(lines) or "no violations"


async def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot to ``test-artifacts/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
