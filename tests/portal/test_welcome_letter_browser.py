"""The welcome letter on paper: a frontline worker enrols a citizen, and Chromium prints
the letter to PDF. It fits one sheet (two sides at most) in Danish and in English, and
its first side holds the sign-in box and the phone number to call for help."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import time

import pytest
from aiohttp.test_utils import TestServer

from connec.settings import HelpLine
from portal.app import make_app
from tests.browser import SCREENSHOTS, screenshot
from tests.harness import SynapseHarness
from tests.portal.helpers import Member
from tests.portal.test_portal_browser import sign_in

pytestmark = [pytest.mark.synapse, pytest.mark.browser]

HELP_PHONE = "89 40 20 00"


@pytest.fixture
async def portal_with_help_line(synapse: SynapseHarness) -> AsyncIterator[str]:
    """The portal on the session's Synapse, with a municipal help line configured."""
    settings = synapse.settings.model_copy(deep=True)
    settings.help.lines = [HelpLine(phone=HELP_PHONE, opens=time(9), closes=time(15))]
    server = TestServer(make_app(settings), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def enrol_in_browser(page, base: str, name: str, language: str) -> str:
    """Fill in the enrolment form with the fewest answers; answers the first password."""
    await page.goto(base + "/borgere/ny")
    await page.fill("#field-name", name)
    await page.fill("#field-birth_year", "1946")
    await page.check(f"#field-language-{language}")
    await page.click("#group-natur_og_have summary")
    await page.check("#field-interests-gardening")
    await page.check("#field-contact_modes-video")
    await page.check("#field-availability-mon-am")
    await page.check("#field-consent-yes")
    await page.click("form.long-form button[type=submit]")
    await page.wait_for_url(re.compile(r"/borgere/\d+/velkomstbrev"))
    return (await page.text_content("[data-testid=first-password]") or "").strip()


def pages_of(pdf: bytes) -> list[str]:
    """The text of each page of a PDF, spaces squeezed out (a PDF keeps no reliable spaces)."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    return [re.sub(r"\s+", "", page.extract_text() or "") for page in reader.pages]


@pytest.mark.parametrize(
    ("language", "never_give"),
    [
        ("da", "Giv aldrig din adgangskode til nogen — heller ikke til os."),
        ("en", "Never give your password to anyone — not even to us."),
    ],
)
async def test_the_letter_prints_on_one_sheet_with_sign_in_and_help_on_its_first_side(
    page, portal_with_help_line: str, member, language: str, never_give: str
) -> None:
    base = portal_with_help_line
    frida: Member = await member(
        "frida", "frontline", "Aarhus", display_name="Frida Fremskudt", phone="20 30 40 50"
    )
    await sign_in(page, base, frida)
    password = await enrol_in_browser(page, base, f"Karen Papir {frida.person_id}", language)
    assert password

    pdf = await page.pdf(format="A4", prefer_css_page_size=True)
    await screenshot(page, f"portal-welcome-letter-{language}")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"portal-welcome-letter-{language}.pdf").write_bytes(pdf)
    pages = pages_of(pdf)
    assert len(pages) <= 2, f"the {language} letter prints on {len(pages)} pages"
    first = pages[0]
    assert password.replace(" ", "") in first, "the sign-in box is not on the first side"
    assert HELP_PHONE.replace(" ", "") in first, "the help phone number is not on the first side"
    assert "20304050" in first, "the frontline worker's own number is not on the first side"
    assert re.sub(r"\s+", "", never_give) in "".join(pages)
    # Not the server's URL to type: its name, which is what Element X asks for.
    assert "http://127.0.0.1" not in "".join(pages)
    assert "connec.test" in first
