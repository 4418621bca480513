"""A volunteer signs up on the public form: a pending volunteer, or clear errors and their answers kept.

Sign-up needs no Synapse (the account is made on approval), so these run without one.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from connec.db import Database, migrate
from connec.interests import all_interests
from connec.models import Person
from connec.secrets import ensure_secrets
from connec.settings import load_settings
from portal.app import DATABASE, make_app
from tests.portal.helpers import (
    audit_actions,
    fields_in_error,
    form,
    person_named,
    token_for,
    volunteer_form,
)


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[TestClient]:
    settings = load_settings(
        tmp_path,
        synapse={"server_name": "connec.test", "federation_allowlist": ["frivillig.example"]},
    )
    ensure_secrets(settings.paths.secrets)
    migrate(settings.db_url)
    client = TestClient(TestServer(make_app(settings)))
    await client.start_server()
    yield client
    await client.close()


def database_of(client: TestClient) -> Database:
    return client.app[DATABASE]


async def post_sign_up(client: TestClient, values: dict, token: str | None = "fetch"):
    if token == "fetch":
        token = await token_for(client, "/frivillig")
    data = form(values)
    if token is not None:
        data.append(("csrf_token", token))
    return await client.post("/frivillig", data=data, allow_redirects=False)


async def post_step(client: TestClient, values: dict, step: int, go: str = "next"):
    """Press a step's button ("next", "back" or "send") with ``values`` in the form."""
    token = await token_for(client, "/frivillig")
    data = [*form(values), ("step", str(step)), ("go", go), ("csrf_token", token)]
    return await client.post("/frivillig", data=data, allow_redirects=False)


def step_shown(page: str) -> int:
    match = re.search(r'name="step" value="(\d)"', page)
    assert match, "the page shows no step of the sign-up"
    return int(match.group(1))


def carried(page: str, name: str) -> list[str]:
    """The values a page carries in hidden fields for another step."""
    return re.findall(rf'<input type="hidden" name="{name}" value="([^"]*)">', page)


async def test_four_steps_offer_the_matchmakers_interests_and_a_week_of_times(
    portal: TestClient,
) -> None:
    first = await (await portal.get("/frivillig")).text()
    assert step_shown(first) == 1 and 'aria-current="step"' in first
    assert "omkring ti minutter, i fire korte trin" in first  # the size of the task, up front
    assert 'name="interests"' not in first  # one step at a time

    values = volunteer_form()
    second = await (await post_step(portal, values, 1)).text()
    assert step_shown(second) == 2 and "Trin 2 af 4" in second
    boxes = re.findall(
        r'type="checkbox" id="field-interests-[^"]+" name="interests" value="([^"]+)"', second
    )
    assert boxes == [interest.key for interest in all_interests()]
    third = await (await post_step(portal, values, 2)).text()
    slots = re.findall(r'type="checkbox" id="[^"]+" name="availability" value="([^"]+)"', third)
    assert len(slots) == 21 and slots[0] == "mon-am" and slots[-1] == "sun-eve"
    assert 'name="capacity" value="3"' in third
    fourth = await (await post_step(portal, values, 3)).text()
    assert 'name="consent"' in fourth and "Send min tilmelding" in fourth
    assert "frivillig.example" in fourth  # the trusted servers are named at the Matrix ID

    sent = await post_step(portal, values, 4, go="send")
    assert sent.status == 303 and sent.headers["Location"] == "/frivillig/tak"
    [anna] = await person_named(database_of(portal), "Anna Jensen")
    assert sorted(anna.interest_keys) == ["gardening", "jazz"]
    assert anna.availability == ["tue-am", "thu-pm"]


async def test_next_checks_only_its_own_step_and_back_keeps_every_answer(
    portal: TestClient,
) -> None:
    # Step 1 with a mistake: only step 1's mistake, and the later answers ride along.
    response = await post_step(portal, volunteer_form(email="anna-at-example"), 1)
    assert response.status == 400
    page = await response.text()
    assert step_shown(page) == 1 and fields_in_error(page) == {"email"}
    assert carried(page, "interests") == ["jazz", "gardening"]
    assert carried(page, "motivation") == ["Jeg kan godt lide at snakke med ældre mennesker."]
    assert "autofocus" in page.split('class="error-summary"', 1)[1].split(">", 1)[0]

    # Step 3 with nothing ticked yet says so only when "Next" is pressed there.
    on_two = await post_step(portal, volunteer_form(availability=None), 2)
    assert on_two.status == 200 and step_shown(await on_two.text()) == 3
    on_three = await post_step(portal, volunteer_form(availability=None), 3)
    assert on_three.status == 400 and fields_in_error(await on_three.text()) == {"availability"}

    # Back checks nothing and keeps what was typed on the step left behind.
    back = await post_step(portal, volunteer_form(motivation="", consent=None), 4, go="back")
    page = await back.text()
    assert back.status == 200 and step_shown(page) == 3 and not fields_in_error(page)
    assert carried(page, "name") == ["Anna Jensen"] and carried(page, "motivation") == [""]
    assert not await person_named(database_of(portal), "Anna Jensen")


async def test_a_sign_up_becomes_a_pending_volunteer_with_a_reserved_user_name(
    portal: TestClient,
) -> None:
    response = await post_sign_up(portal, volunteer_form())
    assert response.status == 303 and response.headers["Location"] == "/frivillig/tak"
    thanks = await (await portal.get("/frivillig/tak")).text()
    assert "Tak for din tilmelding" in thanks
    [anna] = await person_named(database_of(portal), "Anna Jensen")
    assert anna.role == "volunteer" and anna.approval == "pending"
    assert anna.matrix_id == "@anna.jensen:connec.test"
    assert anna.birth_year == 1990 and anna.capacity == 2 and anna.municipality == "Aarhus"
    assert anna.interest_keys == ["jazz", "gardening"]  # in the taxonomy's order
    assert anna.interest_words == ["Kim Larsen", "min kolonihave"]
    assert anna.availability == ["tue-am", "thu-pm"] and anna.contact_modes == ["chat", "video"]
    assert anna.consent_at is not None and anna.email == "anna@example.dk"
    [line] = await audit_actions(database_of(portal), person_id=anna.id)
    assert line.action == "volunteer_signed_up" and "Anna" not in str(line.details)


async def test_two_volunteers_with_the_same_name_get_different_user_names(
    portal: TestClient,
) -> None:
    await post_sign_up(portal, volunteer_form(email="a1@example.dk"))
    await post_sign_up(portal, volunteer_form(email="a2@example.dk"))
    ids = sorted(p.matrix_id for p in await person_named(database_of(portal), "Anna Jensen"))
    assert ids == ["@anna.jensen2:connec.test", "@anna.jensen:connec.test"]


async def test_someone_under_18_is_told_so_clearly_and_nothing_is_stored(
    portal: TestClient,
) -> None:
    from datetime import date

    today = date.today()
    seventeen = volunteer_form(
        name="Ung Person",
        birth_day=str(today.day),
        birth_month=str(today.month),
        birth_year=str(today.year - 17),
    )
    response = await post_sign_up(portal, seventeen)
    assert response.status == 400
    page = await response.text()
    assert "Du skal være 18 år eller ældre for at blive online besøgsven" in page
    assert fields_in_error(page) == {"birth_date"}
    assert not await person_named(database_of(portal), "Ung Person")


async def test_bad_input_is_explained_next_to_each_field_step_by_step_and_kept(
    portal: TestClient,
) -> None:
    values = volunteer_form(
        email="anna-at-example",
        phone="12",
        postcode="80",
        availability=None,
        consent=None,
        capacity="7",
        interests=["jazz", "no-such-interest"],
        matrix_id="@anna:elsewhere.example",
    )
    # Sent all at once, each step with mistakes comes back in turn, with only its own.
    expected = [
        (
            1,
            {"email", "phone", "postcode"},
            dict(email="anna@example.dk", phone="20 30 40 50", postcode="8000"),
        ),
        (2, {"interests"}, dict(interests=["jazz"])),
        (3, {"availability", "capacity"}, dict(availability=["tue-am"], capacity="2")),
        (4, {"consent", "matrix_id"}, dict(consent="yes", matrix_id=None)),
    ]
    for step, fields, fixes in expected:
        response = await post_step(portal, values, 4, go="send")
        assert response.status == 400
        page = await response.text()
        assert step_shown(page) == step and fields_in_error(page) == fields
        if step == 1:
            assert 'value="anna-at-example"' in page and 'value="Anna Jensen"' in page
            assert 'href="#field-email"' in page  # the summary links to the field
        if step == 2:
            assert re.search(r'value="jazz" checked', page)  # ticked boxes stay ticked
            assert "Kim Larsen, min kolonihave" in page
        assert not await person_named(database_of(portal), "Anna Jensen")
        values = {**values, **fixes}
        values = {name: value for name, value in values.items() if value is not None}
    assert (await post_step(portal, values, 4, go="send")).status == 303


async def test_an_own_matrix_id_must_be_on_a_trusted_server(portal: TestClient) -> None:
    ours = await post_sign_up(portal, volunteer_form(matrix_id="@anna:connec.test"))
    assert "connec opretter selv din konto" in await ours.text()
    trusted = await post_sign_up(
        portal, volunteer_form(name="Bo Frivillig", matrix_id="@bo:frivillig.example")
    )
    assert trusted.status == 303
    [bo] = await person_named(database_of(portal), "Bo Frivillig")
    assert bo.matrix_id == "@bo:frivillig.example" and bo.approval == "pending"


async def test_an_already_known_matrix_id_gets_the_same_thanks_and_changes_nothing(
    portal: TestClient,
) -> None:
    async with database_of(portal).session() as session:
        session.add(Person(matrix_id="@known:frivillig.example", role="citizen", display_name="K"))
    response = await post_sign_up(
        portal, volunteer_form(name="Someone Else", matrix_id="@known:frivillig.example")
    )
    assert response.status == 303 and response.headers["Location"] == "/frivillig/tak"
    async with database_of(portal).session() as session:
        known = await session.scalar(
            select(Person).where(Person.matrix_id == "@known:frivillig.example")
        )
    assert known is not None and known.role == "citizen" and known.display_name == "K"
    assert not await person_named(database_of(portal), "Someone Else")
    [line] = await audit_actions(database_of(portal), action="volunteer_sign_up_ignored")
    assert line.person_id == known.id


async def test_a_sign_up_without_a_valid_form_token_is_refused_and_nothing_is_stored(
    portal: TestClient,
) -> None:
    await portal.get("/frivillig")
    for token in (None, "forged-token"):
        response = await post_sign_up(portal, volunteer_form(), token=token)
        assert response.status == 403
        assert "Formularen var udløbet" in await response.text()
    assert not await person_named(database_of(portal), "Anna Jensen")


async def test_the_form_speaks_english_on_request(portal: TestClient) -> None:
    await portal.get("/sprog/en?next=/frivillig")
    page = await (await portal.get("/frivillig")).text()
    assert "Become an online visiting friend" in page and "Step 1 of 4: About you" in page
    interests = await (await post_step(portal, volunteer_form(), 1)).text()
    assert "Gardening" in interests and "Next" in interests and "Back" in interests
    response = await post_sign_up(portal, volunteer_form(consent=None))
    assert "Tick the box to agree" in await response.text()


async def test_many_sign_ups_at_once_are_all_stored_with_their_own_user_names(
    portal: TestClient,
) -> None:
    import asyncio

    token = await token_for(portal, "/frivillig")
    responses = await asyncio.gather(
        *(
            post_sign_up(portal, volunteer_form(name="Samme Navn", email=f"s{n}@example.dk"), token)
            for n in range(25)
        )
    )
    assert {r.status for r in responses} == {303}
    people = await person_named(database_of(portal), "Samme Navn")
    assert len({p.matrix_id for p in people}) == 25
    assert "@samme.navn:connec.test" in {p.matrix_id for p in people}
    lines = await audit_actions(database_of(portal), action="volunteer_signed_up")
    assert len(lines) == 25


async def test_one_sign_up_that_cannot_be_stored_never_loses_the_others(
    portal: TestClient,
) -> None:
    import asyncio
    from dataclasses import replace
    from datetime import UTC, datetime

    from portal.forms import check_volunteer
    from portal.keys import SIGN_UPS

    def sign_up(name: str):
        values = {
            k: v if isinstance(v, list) else [v] for k, v in volunteer_form(name=name).items()
        }
        checked = check_volunteer(
            values,
            today=datetime.now(UTC).date(),
            server_name="connec.test",
            federation_allowlist=[],
        )
        assert checked.value is not None
        return checked.value

    queue = portal.app[SIGN_UPS]
    broken = replace(sign_up("Broken Row"), languages=[object()])  # cannot be stored as JSON
    results = await asyncio.gather(
        *(
            queue.store(item, language="da", timezone="Europe/Copenhagen", at=datetime.now(UTC))
            for item in (sign_up("Good One"), broken, sign_up("Good Two"))
        ),
        return_exceptions=True,
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], Exception)
    assert await person_named(database_of(portal), "Good One")
    assert await person_named(database_of(portal), "Good Two")
    assert not await person_named(database_of(portal), "Broken Row")


async def test_a_sign_up_that_cannot_be_saved_comes_back_with_the_answers(
    portal: TestClient,
) -> None:
    from portal.keys import SIGN_UPS

    queue = portal.app[SIGN_UPS]

    async def broken(*args, **kwargs) -> None:
        raise RuntimeError("the disk is full")

    queue.store = broken  # type: ignore[method-assign]
    response = await post_sign_up(portal, volunteer_form(name="Vent Lidt"))
    assert response.status == 500
    page = await response.text()
    assert "Din tilmelding er ikke sendt endnu" in page and 'value="Vent Lidt"' in page
