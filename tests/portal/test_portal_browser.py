"""In a real browser (Debian's Chromium): a frontline worker enrols a citizen and prints the
welcome letter, a volunteer signs up on a phone and a coordinator approves them, and a
citizen erases their data. Every page is checked with axe-core, all text at 7:1, and a
screenshot of each is kept in test-artifacts/screenshots/.
"""

from __future__ import annotations

import re

import pytest

from connec.db import Database
from tests.browser import accessibility_violations, describe_violations, screenshot
from tests.harness import SynapseHarness
from tests.portal.helpers import Member, person_named

pytestmark = [pytest.mark.synapse, pytest.mark.browser]

PHONE = {"width": 390, "height": 844}
SMALLEST_TEXT_PX = 18
SMALLEST_TARGET_PX = 48

# Text sizes, and the size of everything people tap: buttons, links that stand on their
# own (navigation, buttons made of links), fields, and check box rows with their labels.
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
    if (!node.textContent.trim() || !el || !visible(el) || el.closest("svg, .visually-hidden")) continue;
    texts.push({text: node.textContent.trim().slice(0, 40), px: parseFloat(getComputedStyle(el).fontSize)});
  }
  const selector = "button, a.button, nav a, summary, input:not([type=checkbox]):not([type=radio]):not([type=hidden]), select, textarea, .choice, .week-grid label.cell";
  const targets = [...document.querySelectorAll(selector)].filter(visible).map((el) => ({
    what: el.outerHTML.slice(0, 60), width: el.getBoundingClientRect().width,
    height: el.getBoundingClientRect().height}));
  return {texts, targets};
}"""


async def check_page(page, name: str) -> None:
    """Screenshot the page, and hold it to axe-core (all text at 7:1), big text and big targets."""
    await screenshot(page, name)
    violations = await accessibility_violations(page, enhanced_contrast=True)
    assert not violations, f"{name}:\n{describe_violations(violations)}"
    measured = await page.evaluate(_MEASURE)
    small = [t for t in measured["texts"] if t["px"] < SMALLEST_TEXT_PX]
    assert not small, f"{name}: text under {SMALLEST_TEXT_PX}px: {small[:5]}"
    tiny = [t for t in measured["targets"] if t["height"] < SMALLEST_TARGET_PX]
    assert not tiny, f"{name}: targets under {SMALLEST_TARGET_PX}px high: {tiny[:5]}"


async def sign_in(page, base: str, member: Member) -> None:
    """Sign in with the keyboard alone: type, Tab, type, Enter."""
    await page.goto(base + "/log-ind")
    await page.focus("#field-user")
    await page.keyboard.type(member.user_id)
    await page.keyboard.press("Tab")
    await page.keyboard.type(member.account.password)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert "/log-ind" not in page.url, await page.text_content("main")


async def tab_to(page, selector: str, limit: int = 400) -> None:
    """Press Tab until ``selector`` has the focus: proof it is reachable by keyboard."""
    for _ in range(limit):
        if await page.evaluate(
            "(s) => document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"{selector} never got the keyboard focus")


async def test_a_frontline_worker_enrols_a_citizen_and_prints_the_welcome_letter(
    synapse: SynapseHarness, page, live_portal_on_synapse: str, database: Database, member
) -> None:
    base = live_portal_on_synapse
    frida = await member("frida", "frontline", "Aarhus", display_name="Frida Fremskudt")
    await sign_in(page, base, frida)
    await check_page(page, "portal-citizens")
    await page.click("text=Tilmeld en borger")
    await check_page(page, "portal-enrol")

    await page.click(
        "form.long-form button[type=submit]"
    )  # nothing filled in: every problem is named
    assert await page.locator(".error-summary").is_visible()
    await check_page(page, "portal-enrol-errors")

    name = f"Karen Browser {frida.person_id}"
    await page.fill("#field-name", name)
    await page.fill("#field-birth_year", "1946")
    await page.fill("#field-postcode", "8200")
    await page.click("#group-natur_og_have summary")
    await page.check("#field-interests-gardening")
    await page.fill("#field-interest_words", "gamle Morris Minor-biler")
    await page.check("#field-contact_modes-video")
    await page.check("#field-availability-mon-am")
    await page.check("#field-availability-thu-pm")
    await page.check("#field-consent-yes")
    await page.click("form.long-form button[type=submit]")
    await page.wait_for_url(re.compile(r"/borgere/\d+/velkomstbrev"))

    password = (await page.text_content("[data-testid=first-password]") or "").strip()
    assert re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){3}", password)
    assert await page.locator("svg.qr").is_visible()
    assert await page.locator("button[data-print]").is_visible()  # print.js ran
    await check_page(page, "portal-welcome-letter")
    await page.emulate_media(media="print")
    assert await page.locator("header.site").is_hidden()
    assert await page.locator(".letter-tools").is_hidden()
    await screenshot(page, "portal-welcome-letter-print")
    await page.emulate_media(media="screen")

    [karen] = await person_named(database, name)
    login = await synapse.admin.login(karen.matrix_id, password)  # the letter's password works
    await synapse.admin.request(
        "POST", "/_matrix/client/v3/logout", token=login["access_token"], json={}
    )
    await page.reload()
    assert await page.locator("[data-testid=first-password]").count() == 0


async def test_a_volunteer_signs_up_on_a_phone_and_a_coordinator_approves_them(
    synapse: SynapseHarness, browser, live_portal_on_synapse: str, database: Database, member
) -> None:
    base = live_portal_on_synapse
    phone = await browser.new_context(viewport=PHONE, locale="da-DK")
    try:
        page = await phone.new_page()
        await page.goto(base + "/")
        await check_page(page, "portal-landing-phone")
        await page.click("main >> text=Bliv frivillig")
        await page.wait_for_url(base + "/frivillig")
        overflow = await page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, "the sign-up form scrolls sideways on a phone"

        assert await page.locator("nav .step-indicator li[aria-current=step]").count() == 1

        # Step 1, with a mistake: it is named, marked, and the focus goes to it.
        await page.fill("#field-name", "Vibeke Browser")
        await page.fill("#field-email", "vibeke@example.dk")
        await page.fill("#field-birth_day", "3")
        await page.fill("#field-birth_month", "4")
        await page.fill("#field-birth_year", "2015")  # too young
        await page.select_option("#field-municipality", "Læsø")
        await page.click("text=Næste")
        error = page.locator("#birth_date-error")
        assert "18 år eller ældre" in (await error.text_content() or "")
        assert await page.evaluate("document.activeElement.classList.contains('error-summary')")
        marked = await page.evaluate(
            "getComputedStyle(document.getElementById('field-birth_date')).borderLeftWidth"
        )
        assert marked == "6px", "the field with the mistake is not marked"
        assert await page.input_value("#field-name") == "Vibeke Browser"  # answers kept
        await check_page(page, "portal-volunteer-sign-up-errors-phone")
        await page.fill("#field-birth_year", "1985")
        await page.click("text=Næste")

        # Step 2, then back to step 1 and forward again: nothing is lost.
        await page.click("#group-musik summary")
        await page.check("#field-interests-jazz")
        await page.click("form.long-form button[value=back]")
        assert await page.input_value("#field-birth_year") == "1985"
        await page.click("text=Næste")
        assert await page.is_checked("#field-interests-jazz")
        await page.click("text=Næste")

        # Steps 3 and 4, and send.
        await page.check("#field-contact_modes-chat")
        await page.check("#field-availability-tue-eve")
        await page.click("text=Næste")
        await page.fill("#field-motivation", "Jeg elsker jazz og gode samtaler.")
        await page.check("#field-consent-yes")
        await check_page(page, "portal-volunteer-sign-up-last-step-phone")
        await page.click("text=Send min tilmelding")
        await page.wait_for_url(base + "/frivillig/tak")
        await check_page(page, "portal-volunteer-thanks-phone")
    finally:
        await phone.close()

    [vibeke] = await person_named(database, "Vibeke Browser")
    assert vibeke.approval == "pending"
    carl = await member("carl", "coordinator", "Læsø")
    desk = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="da-DK")
    try:
        page = await desk.new_page()
        await sign_in(page, base, carl)
        assert page.url == base + "/koordinator"
        await check_page(page, "portal-dashboard")
        card = page.locator("article.card", has_text="Vibeke Browser")
        await card.locator("button", has_text="Godkend").click()
        await page.wait_for_url(re.compile(r"/godkendt$"))
        password = (await page.text_content("[data-testid=first-password]") or "").strip()
        await check_page(page, "portal-volunteer-approved")
    finally:
        await desk.close()
    [vibeke] = await person_named(database, "Vibeke Browser")
    assert vibeke.approval == "approved"
    login = await synapse.admin.login(vibeke.matrix_id, password)
    await synapse.admin.request(
        "POST", "/_matrix/client/v3/logout", token=login["access_token"], json={}
    )


async def test_a_citizen_downloads_and_then_erases_their_data(
    synapse: SynapseHarness, page, live_portal_on_synapse: str, database: Database, member
) -> None:
    base = live_portal_on_synapse
    karen = await member(
        "karen",
        "citizen",
        "Aarhus",
        display_name="Karen Sletter",
        interest_keys=["jazz"],
        availability=["mon-am"],
        languages=["da"],
    )
    await sign_in(page, base, karen)
    assert page.url == base + "/mine-data"
    await check_page(page, "portal-my-data")
    async with page.expect_download() as download_info:
        await page.click("text=Hent mine data")
    download = await download_info.value
    assert download.suggested_filename == "connec-mine-data.json"

    await page.click("button.danger")  # not confirmed: nothing happens but a clear message
    assert "Sæt kryds" in (await page.text_content("#confirm-error") or "")
    await check_page(page, "portal-my-data-unconfirmed")
    await page.check("#field-confirm-yes")
    await page.click("button.danger")
    await page.wait_for_url(base + "/mine-data/slettet")
    await check_page(page, "portal-erased")
    assert not await person_named(database, "Karen Sletter")
    assert (await synapse.admin.get_user(karen.user_id))["deactivated"]


async def test_the_sign_up_and_enrolment_forms_work_by_keyboard_alone(
    page, live_portal_on_synapse: str, database: Database, member
) -> None:
    base = live_portal_on_synapse
    await page.goto(base + "/frivillig")
    await tab_to(page, "#field-name")
    await page.keyboard.type("Tastatur Frivillig")
    await tab_to(page, "#field-email")
    await page.keyboard.type("tast@example.dk")
    for field, value in (("day", "1"), ("month", "2"), ("year", "1970")):
        await tab_to(page, f"#field-birth_{field}")
        await page.keyboard.type(value)
    await tab_to(page, "#field-municipality")
    await page.keyboard.type("Odense")  # a select answers to typed letters
    typed = [await page.input_value(f"#field-birth_{f}") for f in ("day", "month", "year")]
    assert typed == ["1", "2", "1970"]
    await tab_to(page, "#field-name")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")  # Enter goes on to the next step, never back
    await tab_to(page, "#group-musik summary")
    await page.keyboard.press("Enter")  # opens the group
    await tab_to(page, "#field-interests-jazz")
    await page.keyboard.press("Space")
    await tab_to(page, "form.long-form button[value=next]")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await tab_to(page, "#field-contact_modes-voice")
    await page.keyboard.press("Space")
    await tab_to(page, "#field-availability-wed-pm")
    await page.keyboard.press("Space")
    await tab_to(page, "form.long-form button[value=next]")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await tab_to(page, "#field-motivation")
    await page.keyboard.type("Jeg har tid og lyst.")
    await tab_to(page, "#field-consent-yes")
    await page.keyboard.press("Space")
    await tab_to(page, "form.long-form button[value=send]")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert page.url == base + "/frivillig/tak", await page.inner_text(".error-summary")
    [volunteer] = await person_named(database, "Tastatur Frivillig")
    assert volunteer.interest_keys == ["jazz"] and volunteer.availability == ["wed-pm"]
    assert volunteer.municipality == "Odense"


async def test_every_other_page_is_accessible_in_danish_and_english(
    page, live_portal_on_synapse: str, member
) -> None:
    base = live_portal_on_synapse
    for lang in ("da", "en"):
        await page.goto(f"{base}/sprog/{lang}?next=/")
        for path, name in (
            ("/", "landing"),
            ("/frivillig", "volunteer-sign-up"),
            ("/log-ind", "sign-in"),
            ("/kom-i-gang?bruger=karen.hansen", "get-started"),
            ("/no-such-page", "not-found"),
            ("/frivillig/tak", "volunteer-thanks"),
            ("/mine-data/slettet", "erased"),
        ):
            await page.goto(base + path)
            assert await page.get_attribute("html", "lang") == lang
            await check_page(page, f"portal-{name}-{lang}")
        await page.goto(base + "/log-ind")
        await page.fill("#field-user", "nobody")
        await page.fill("#field-password", "wrong")
        await page.click("form.short-form button[type=submit]")
        assert await page.locator(".error-summary").is_visible()
        await check_page(page, f"portal-sign-in-failed-{lang}")

    frida = await member("frida", "frontline", "Aarhus")
    await sign_in(page, base, frida)
    await page.goto(base + "/koordinator")
    assert await page.locator("h1").text_content() in ("This page is not for you",)
    await check_page(page, "portal-forbidden-en")


@pytest.mark.browser
async def test_the_password_can_be_shown_while_signing_in(page, live_portal: str) -> None:
    await page.goto(live_portal + "/log-ind")
    await page.fill("#field-password", "hemmelig-kode")
    assert await page.get_attribute("#field-password", "type") == "password"
    await page.check("text=Vis adgangskode")
    assert await page.get_attribute("#field-password", "type") == "text"
    await page.uncheck("text=Vis adgangskode")
    assert await page.get_attribute("#field-password", "type") == "password"
