"""The council's PDF: Chromium prints the report in Danish and in English, and the PDF
opens with every section in its place and no small group in it."""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from tests.browser import (
    SCREENSHOTS,
    accessibility_violations,
    describe_violations,
    screenshot,
)
from tests.portal.conftest import standalone_app
from tests.portal.evidence_helpers import demo_folder_in, session_cookie

pytestmark = pytest.mark.browser

SECTIONS = {
    "da": [
        "Hvad connec ændrer for ensomme: Aarhus",
        "Læs dette først",
        "Ensomhed, person for person",
        "Kontakt",
        "Grupper",
        "Et forsigtigt skøn over sparede sundhedsudgifter",
        "Hvad skønnet bygger på",
        "Hvad rapporten ikke kan vise",
    ],
    "en": [
        "What connec changes for lonely people: Aarhus",
        "Read this first",
        "Loneliness, person by person",
        "Contact",
        "Groups",
        "A cautious estimate of health costs avoided",
        "What the estimate assumes",
        "What this report cannot show",
    ],
}
NO_CONTROL = {"da": "Der er ingen kontrolgruppe", "en": "There is no control group"}


@pytest.fixture(scope="module")
async def report_portal(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[str, Path]]:
    folder = await demo_folder_in(tmp_path_factory.mktemp("report-pdf"))
    server = TestServer(standalone_app(folder), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/"), folder
    finally:
        await server.close()


def squeezed(text: str) -> str:
    """Text without spaces or ligatures (a PDF keeps neither reliably)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


@pytest.mark.parametrize("language", ["da", "en"])
async def test_the_report_prints_as_a_pdf_with_every_section(
    page, report_portal: tuple[str, Path], language: str
) -> None:
    from pypdf import PdfReader

    base, folder = report_portal
    cookie = await session_cookie(folder, f"carl-{language}", "coordinator", "Aarhus")
    await page.context.add_cookies(
        [
            {"name": "connec_session", "value": cookie, "url": base},
            {"name": "connec_lang", "value": language, "url": base},
        ]
    )
    response = await page.goto(base + "/koordinator/rapport")
    assert response is not None and response.status == 200
    pdf = await page.pdf(format="A4", print_background=False)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"portal-evidence-report-{language}.pdf").write_bytes(pdf)

    reader = PdfReader(io.BytesIO(pdf))
    text = squeezed(" ".join(p.extract_text() or "" for p in reader.pages))
    assert 1 < len(reader.pages) <= 8, f"{len(reader.pages)} pages"
    # Each section after the one before it.
    at = 0
    for heading in SECTIONS[language]:
        found = text.find(squeezed(heading), at)
        assert found >= 0, f"{heading!r} is missing or out of order"
        at = found + len(squeezed(heading))
    assert squeezed(NO_CONTROL[language]) in text
    assert "Odder" not in text
    # The screen's tools stay off paper.
    assert squeezed("CSV") not in text


@pytest.mark.parametrize("mode", ["desktop", "phone", "large-text"])
async def test_the_report_fits_the_screen_and_is_accessible(
    browser, report_portal: tuple[str, Path], mode: str
) -> None:
    from tests.portal.test_every_page_browser import _OVERFLOW, MODES, large_text

    base, folder = report_portal
    size = MODES[mode]
    context = await browser.new_context(
        viewport={"width": size.width, "height": size.height}, locale="da-DK"
    )
    try:
        page = await context.new_page()
        cookie = await session_cookie(folder, f"carl-{mode}", "coordinator", "Aarhus")
        await context.add_cookies([{"name": "connec_session", "value": cookie, "url": base}])
        await page.goto(base + "/koordinator/rapport")
        if size.text_px:
            await large_text(page, size.text_px)
        assert await page.evaluate(_OVERFLOW) is None
        violations = await accessibility_violations(page, enhanced_contrast=True, target_size=True)
        assert not violations, describe_violations(violations)
        await screenshot(page, f"portal-evidence-report-{mode}")
    finally:
        await context.close()
