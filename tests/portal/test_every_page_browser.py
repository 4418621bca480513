"""Every page of the portal, as the people who use it see it: on a desktop, on a phone,
and on the narrowest phone (320 px) with the text at 200 %.

Each page is walked to as a person would (signing in, pressing the buttons), and must
not scroll sideways, and must have no serious or critical axe-core finding with all
text at 7:1 (WCAG 1.4.6) and big enough targets (WCAG 2.5.8). Every problem of a walk
is gathered before the test fails, so one run shows them all. A full-page screenshot of
each page in each mode is kept in test-artifacts/screenshots/every-*.png.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import time, timedelta

import pytest
from aiohttp.test_utils import TestServer

from connec.db import Database
from connec.models import Concern, Match, Proposal
from connec.settings import HelpLine
from portal.app import make_app
from tests.browser import SCREENSHOTS, accessibility_violations, describe_violations, screenshot
from tests.harness import SynapseHarness
from tests.portal.helpers import Member, now, volunteer_form
from tests.portal.test_portal_browser import sign_in

pytestmark = [pytest.mark.synapse, pytest.mark.browser]


@dataclass(frozen=True)
class Mode:
    """How a page is looked at: the window's size, and the browser's text size."""

    width: int
    height: int
    text_px: int | None = None
    """The browser's default text size (16 px is 100 %); None leaves it as it is."""


MODES = {
    "desktop": Mode(1280, 900),
    "phone": Mode(390, 844),
    "large-text": Mode(320, 800, text_px=32),  # the narrowest phone, text at 200 %
}

# Where the page is wider than the window, and what sticks out.
_OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const over = document.documentElement.scrollWidth - width;
  if (over <= 0) return null;
  const culprits = [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > width + 1)
    .filter((el) => !el.closest("[aria-hidden=true], .visually-hidden, .skip"))
    .slice(-3).map((el) => el.outerHTML.slice(0, 90));
  return {over, culprits};
}"""


@dataclass
class Walk:
    """One walk through the pages in one mode: what was seen, and what was wrong."""

    mode: str
    seen: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    async def look(self, page, name: str) -> None:
        """Hold the page in front of us to the rules: no sideways scrolling, axe clean."""
        self.seen.append(name)
        text_px = MODES[self.mode].text_px
        if text_px:
            # The portal's root is 125 % of the browser's text size; make sure the
            # large text really is in force, or the walk would prove nothing.
            root = await page.evaluate("getComputedStyle(document.documentElement).fontSize")
            assert root == f"{text_px * 1.25:g}px", f"{name}: text at {root}, not 200 %"
        overflow = await page.evaluate(_OVERFLOW)
        if overflow:
            self.problems.append(
                f"{name}: scrolls sideways by {overflow['over']} px; sticking out: "
                + " | ".join(overflow["culprits"])
            )
        violations = await accessibility_violations(page, enhanced_contrast=True, target_size=True)
        if violations:
            self.problems.append(f"{name}:\n{describe_violations(violations)}")
        if text_px:
            # A full-page screenshot resizes the window for a moment and drops the
            # browser's text size: with large text, the first screen is what is kept.
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOTS / f"every-{self.mode}-{name}.png"))
            await large_text(page, text_px)
        else:
            await screenshot(page, f"every-{self.mode}-{name}")

    def verdict(self) -> None:
        assert not self.problems, f"{self.mode}, {len(self.problems)} pages:\n" + "\n".join(
            self.problems
        )


@pytest.fixture
async def portal_with_help_line(synapse: SynapseHarness) -> AsyncIterator[str]:
    settings = synapse.settings.model_copy(deep=True)
    settings.help.lines = [HelpLine(phone="89 40 20 00", opens=time(9), closes=time(15))]
    server = TestServer(make_app(settings), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def a_municipality_at_work(database: Database, member, tag: str) -> dict[str, Member]:
    """Staff, a citizen with a life in connec, and a volunteer waiting for approval."""
    frida = await member("frida", "frontline", "Aarhus", display_name=f"Frida Fremskudt {tag}")
    carl = await member("carl", "coordinator", "Aarhus", display_name=f"Carl Koordinator {tag}")
    karen = await member(
        "karen",
        "citizen",
        "Aarhus",
        display_name=f"Karen Gendannelsesnøglesen {tag}",
        interest_keys=["jazz", "gardening"],
        interest_words=["Morris Minor-biler"],
        contact_modes=["video"],
        availability=["tue-am", "thu-pm"],
        languages=["da", "en"],
        approval="approved",
        birth_year=1946,
    )
    vera = await member(
        "vera",
        "volunteer",
        "Aarhus",
        display_name=f"Vera Besøgsvennesen {tag}",
        approval="approved",
        languages=["da"],
    )
    pending = await member(
        "pia",
        "volunteer",
        "Aarhus",
        display_name=f"Pia Ventende {tag}",
        approval="pending",
        email="pia@example.dk",
        phone="20 30 40 50",
        birth_year=1980,
        languages=["da"],
        interest_keys=["jazz"],
        availability=["mon-am"],
        capacity=1,
        motivation="Jeg vil gerne være besøgsven for en ældre medborger.",
    )
    at = now()
    async with database.session() as session:
        session.add(
            Proposal(
                a_id=karen.person_id,
                b_id=pending.person_id,
                score=2.5,
                state="asked",
                created_at=at,
            )
        )
        match = Match(
            a_id=karen.person_id,
            b_id=vera.person_id,
            state="introduced",
            created_at=at,
            introduced_at=at - timedelta(days=30),
            last_activity_at=at - timedelta(days=30),
        )
        session.add(match)
        await session.flush()
        session.add(
            Concern(
                reporter_id=karen.person_id,
                match_id=match.id,
                text="Vera har ikke svaret i lang tid, og jeg savner vores samtaler.",
                created_at=at,
            )
        )
    return {"frida": frida, "carl": carl, "karen": karen, "pending": pending}


async def new_page(browser, mode: Mode, lang: str = "da"):
    context = await browser.new_context(
        viewport={"width": mode.width, "height": mode.height},
        locale="da-DK" if lang == "da" else "en-GB",
    )
    page = await context.new_page()
    if mode.text_px:
        await large_text(page, mode.text_px)
    return context, page


async def large_text(page, text_px: int) -> None:
    """The browser's own text size, as a person sets it in its settings (16 px: 100 %)."""
    # The session stays attached: the setting lasts only as long as it does.
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Page.setFontSizes", {"fontSizes": {"standard": text_px}})


async def press(page, selector: str) -> None:
    """Press a button that sends a form, and wait for the page it leads to."""
    async with page.expect_navigation():
        await page.click(selector)


async def walk_public_pages(page, base: str, walk: Walk, lang: str) -> None:
    await page.goto(f"{base}/sprog/{lang}?next=/")
    for path, name in (
        ("/", "landing"),
        ("/log-ind", "sign-in"),
        ("/kom-i-gang?bruger=karen.gendannelsesnoeglesen", "get-started"),
        ("/frivillig/tak", "volunteer-thanks"),
        ("/mine-data/slettet", "erased"),
        ("/no-such-page", "not-found"),
        ("/element/home", "element-home"),
        ("/element/welcome", "element-welcome"),
        ("/element/themes", "element-themes"),
    ):
        await page.goto(base + path)
        await walk.look(page, f"{name}-{lang}")
    await page.goto(base + "/log-ind")
    await page.fill("#field-user", "nobody")
    await page.fill("#field-password", "wrong")
    await press(page, "form.short-form button[type=submit]")
    await walk.look(page, f"sign-in-failed-{lang}")

    # The volunteer sign-up, step by step, first with a mistake.
    values = volunteer_form()
    await page.goto(base + "/frivillig")
    await walk.look(page, f"volunteer-step-1-{lang}")
    await press(page, "form.long-form button[value=next]")
    await walk.look(page, f"volunteer-step-1-errors-{lang}")
    await page.fill("#field-name", values["name"])
    await page.fill("#field-email", values["email"])
    for part in ("day", "month", "year"):
        await page.fill(f"#field-birth_{part}", values[f"birth_{part}"])
    await page.select_option("#field-municipality", "Aarhus")
    await press(page, "form.long-form button[value=next]")
    await walk.look(page, f"volunteer-step-2-{lang}")
    await page.click("#group-musik summary")
    await page.check("#field-interests-jazz")
    await press(page, "form.long-form button[value=next]")
    await walk.look(page, f"volunteer-step-3-{lang}")
    await page.check("#field-contact_modes-chat")
    await page.check("#field-availability-tue-am")
    await press(page, "form.long-form button[value=next]")
    await walk.look(page, f"volunteer-step-4-{lang}")


async def walk_staff_pages(browser, base: str, mode: Mode, walk: Walk, people) -> None:
    context, page = await new_page(browser, mode)
    try:
        await sign_in(page, base, people["frida"])
        await walk.look(page, "citizens")
        await page.goto(base + "/borgere/ny")
        await walk.look(page, "enrol")
        await press(page, "form.long-form button[type=submit]")
        await walk.look(page, "enrol-errors")
        await page.fill("#field-name", f"Ny Borger {people['frida'].person_id}")
        await page.fill("#field-birth_year", "1940")
        await page.click("#group-natur_og_have summary")
        await page.check("#field-interests-gardening")
        await page.check("#field-contact_modes-voice")
        await page.check("#field-availability-wed-pm")
        await page.check("#field-consent-yes")
        await page.click("form.long-form button[type=submit]")
        await page.wait_for_url(re.compile(r"/borgere/\d+/velkomstbrev"))
        await walk.look(page, "welcome-letter")
        await press(page, "text=Lav en ny første adgangskode")
        await walk.look(page, "new-password-question")
        await page.goto(base + "/koordinator")
        await walk.look(page, "not-for-you")
    finally:
        await context.close()

    context, page = await new_page(browser, mode)
    try:
        await sign_in(page, base, people["carl"])
        await walk.look(page, "dashboard")
        card = page.locator("article.card", has_text="Pia Ventende")
        await card.locator("button", has_text="Godkend").click()
        await page.wait_for_url(re.compile(r"/godkendt$"))
        await walk.look(page, "volunteer-approved")
    finally:
        await context.close()

    context, page = await new_page(browser, mode)
    try:
        await sign_in(page, base, people["karen"])
        await walk.look(page, "my-data")
        await press(page, "button.danger")  # not ticked: a clear message, nothing erased
        await walk.look(page, "my-data-unconfirmed")
        await page.goto(base + "/mine-data/oversigt")
        await walk.look(page, "my-data-readable")
    finally:
        await context.close()


@pytest.mark.parametrize("mode_name", MODES)
async def test_every_page_fits_and_is_accessible(
    browser,
    synapse: SynapseHarness,
    portal_with_help_line: str,
    database: Database,
    member,
    mode_name: str,
) -> None:
    mode = MODES[mode_name]
    walk = Walk(mode_name)
    people = await a_municipality_at_work(database, member, mode_name)
    # English words are long in other places than Danish ones: the narrowest mode walks both.
    for lang in ("da", "en") if mode.text_px else ("da",):
        context, page = await new_page(browser, mode, lang)
        try:
            await walk_public_pages(page, portal_with_help_line, walk, lang)
        finally:
            await context.close()
    await walk_staff_pages(browser, portal_with_help_line, mode, walk, people)
    assert len(walk.seen) >= 25, walk.seen
    walk.verdict()
