"""A frontline worker enrols a citizen with them: an account on the real Synapse, a welcome
letter with a first password shown once, and nothing half-made when something fails."""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient

from connec.accounts import localpart_candidates
from connec.db import Database
from connec.synapse_admin import SynapseError
from portal.enrolment import FALLBACK_LOCALPART
from portal.keys import SYNAPSE
from tests.harness import SynapseHarness
from tests.portal.helpers import (
    audit_actions,
    citizen_form,
    fields_in_error,
    form,
    person_by_id,
    person_named,
    signed_in,
    token_for,
)

pytestmark = pytest.mark.synapse


async def enrol(client: TestClient, values: dict):
    token = await token_for(client, "/borgere/ny")
    return await client.post(
        "/borgere/ny", data=[*form(values), ("csrf_token", token)], allow_redirects=False
    )


def person_id_of(location: str) -> int:
    match = re.fullmatch(r"/borgere/(\d+)/velkomstbrev", location)
    assert match, location
    return int(match.group(1))


def password_on(letter: str) -> str | None:
    match = re.search(r'data-testid="first-password">([^<]+)<', letter)
    return match.group(1) if match else None


async def test_a_citizen_is_enrolled_and_can_sign_in_with_the_letters_password(
    synapse: SynapseHarness, portal_on_synapse: TestClient, database: Database, member
) -> None:
    frida = await member("frida", "frontline", "Aarhus")
    await signed_in(portal_on_synapse, frida)
    name = f"Karen Hansen {frida.person_id}"
    response = await enrol(portal_on_synapse, citizen_form(name=name))
    assert response.status == 303, await response.text()
    person_id = person_id_of(response.headers["Location"])

    karen = await person_by_id(database, person_id)
    assert karen is not None and karen.display_name == name
    assert karen.role == "citizen" and karen.municipality == "Aarhus"
    assert karen.enrolled_by == frida.user_id and karen.consent_at is not None
    assert karen.interest_keys == ["gardening", "knitting"]
    assert karen.interest_words == ["gamle Morris Minor-biler"]
    assert karen.matrix_id.startswith("@karen.") and karen.matrix_id.endswith(":connec.test")
    account = await synapse.admin.get_user(karen.matrix_id)
    assert account is not None and account["displayname"] == name

    letter = await (await portal_on_synapse.get(response.headers["Location"])).text()
    password = password_on(letter)
    assert password and re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){3}", password)
    assert karen.matrix_id.removeprefix("@").split(":")[0] in letter
    assert "<svg" in letter and 'class="qr"' in letter  # the QR code
    assert "Giv aldrig din adgangskode til nogen — heller ikke til os." in letter
    assert "»Log ind manuelt«" in letter and "»Hent gendannelsesnøgle«" in letter
    # The server's name, as Element X asks for it; never its URL to type on a phone.
    assert ">connec.test<" in letter and synapse.settings.synapse.client_url not in letter
    assert "Cache-Control" in (await portal_on_synapse.get("/borgere")).headers

    # The password works, and is shown only once.
    login = await synapse.admin.login(karen.matrix_id, password)
    await synapse.admin.request(
        "POST", "/_matrix/client/v3/logout", token=login["access_token"], json={}
    )
    again = await (await portal_on_synapse.get(response.headers["Location"])).text()
    assert password_on(again) is None and password not in again

    [line] = await audit_actions(database, action="citizen_enrolled", person_id=person_id)
    assert line.actor == frida.user_id and line.subject == karen.matrix_id
    assert password not in str(line.details)


async def test_a_peer_citizen_who_wants_to_befriend_others_is_enrolled_as_a_peer(
    portal_on_synapse: TestClient, database: Database, member
) -> None:
    frida = await member("frida", "frontline", "Odense")
    await signed_in(portal_on_synapse, frida)
    name = f"Poul Peer {frida.person_id}"
    response = await enrol(
        portal_on_synapse,
        citizen_form(name=name, peer="yes", distance="near", age_min="60", age_max="85"),
    )
    poul = await person_by_id(database, person_id_of(response.headers["Location"]))
    assert poul is not None and poul.role == "peer" and poul.near_me
    assert (poul.age_min, poul.age_max) == (60, 85)


async def test_bad_input_is_explained_and_no_account_is_made(
    synapse: SynapseHarness, portal_on_synapse: TestClient, database: Database, member
) -> None:
    frida = await member("frida", "frontline", "Aarhus")
    await signed_in(portal_on_synapse, frida)
    name = f"Bad Input {frida.person_id}"
    response = await enrol(
        portal_on_synapse,
        citizen_form(
            name=name,
            birth_year="46",
            consent=None,
            contact_modes=None,
            age_min="70",
            age_max="60",
            distance="near",
            postcode="",
        ),
    )
    assert response.status == 400
    page = await response.text()
    assert fields_in_error(page) == {
        "birth_year",
        "consent",
        "contact_modes",
        "age_max",
        "postcode",
    }
    assert f'value="{name}"' in page and 'value="mon-am" checked' in page
    assert not await person_named(database, name)
    # No account under any user name the portal would have given "Bad Input N".
    for localpart in localpart_candidates(name, FALLBACK_LOCALPART):
        assert await synapse.admin.get_user(synapse.settings.user_id(localpart)) is None


async def test_while_synapse_is_unreachable_nothing_is_made_and_the_answers_stay(
    portal_on_synapse: TestClient, database: Database, member
) -> None:
    frida = await member("frida", "frontline", "Aarhus")
    await signed_in(portal_on_synapse, frida)
    token = await token_for(portal_on_synapse, "/borgere/ny")
    name = f"Vente Borger {frida.person_id}"
    admin = portal_on_synapse.app[SYNAPSE]
    real = admin.base_url
    admin.base_url = "http://127.0.0.1:9"
    try:
        response = await portal_on_synapse.post(
            "/borgere/ny", data=[*form(citizen_form(name=name)), ("csrf_token", token)]
        )
    finally:
        admin.base_url = real
    assert response.status == 503
    page = await response.text()
    assert "kunne ikke få forbindelse til chatserveren" in page
    assert f'value="{name}"' in page and 'value="gardening" checked' in page
    assert not await person_named(database, name)
    # Once Synapse answers again, the same answers go through.
    assert (await enrol(portal_on_synapse, citizen_form(name=name))).status == 303


async def test_an_account_is_undone_when_storing_the_citizen_fails(
    synapse: SynapseHarness,
) -> None:
    from connec.accounts import create_account

    async def never_taken(user_id: str) -> bool:
        return False

    made: list[str] = []

    async def store_fails(user_id: str, password: str) -> None:
        made.append(user_id)
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError, match="database went away"):
        await create_account(
            synapse.admin,
            server_name=synapse.server_name,
            display_name="Half Made",
            fallback="borger",
            taken_here=never_taken,
            then=store_fails,
        )
    [user_id] = made
    account = await synapse.admin.get_user(user_id)
    assert account is not None and account["deactivated"]
    # A deactivated name is never given to anyone else.
    user_id2, _password, _ = await create_account(
        synapse.admin,
        server_name=synapse.server_name,
        display_name="Half Made",
        fallback="borger",
        taken_here=never_taken,
        then=lambda user_id, password: _nothing(),
    )
    assert user_id2 != user_id


async def _nothing() -> None:
    return None


async def test_a_new_first_password_replaces_the_old_one(
    synapse: SynapseHarness, portal_on_synapse: TestClient, database: Database, member
) -> None:
    frida = await member("frida", "frontline", "Aarhus")
    await signed_in(portal_on_synapse, frida)
    response = await enrol(portal_on_synapse, citizen_form(name=f"Glemsom {frida.person_id}"))
    letter_url = response.headers["Location"]
    first = password_on(await (await portal_on_synapse.get(letter_url)).text())
    person_id = person_id_of(letter_url)
    karen = await person_by_id(database, person_id)
    assert karen is not None and first

    # One click asks first, and changes nothing.
    question_url = f"/borgere/{person_id}/ny-adgangskode"
    assert f'href="{question_url}"' in await (await portal_on_synapse.get(letter_url)).text()
    token = await token_for(portal_on_synapse, question_url)
    unasked = await portal_on_synapse.post(
        question_url, data={"csrf_token": token}, allow_redirects=False
    )
    assert unasked.status == 400 and "Vil du lave en ny første adgangskode" in await unasked.text()
    assert not await audit_actions(database, action="first_password_renewed", person_id=person_id)

    renewed = await portal_on_synapse.post(
        question_url, data={"csrf_token": token, "confirm": "yes"}, allow_redirects=False
    )
    assert renewed.headers["Location"] == letter_url
    second = password_on(await (await portal_on_synapse.get(letter_url)).text())
    assert second and second != first
    with pytest.raises(SynapseError):
        await synapse.admin.login(karen.matrix_id, first)
    login = await synapse.admin.login(karen.matrix_id, second)
    await synapse.admin.request(
        "POST", "/_matrix/client/v3/logout", token=login["access_token"], json={}
    )
    [line] = await audit_actions(database, action="first_password_renewed", person_id=person_id)
    assert line.actor == frida.user_id


async def test_a_frontline_worker_sees_only_their_own_municipalitys_citizens(
    synapse: SynapseHarness, portal_on_synapse: TestClient, database: Database, member
) -> None:
    from aiohttp.test_utils import TestServer

    from portal.app import make_app

    aarhus = await member("frida", "frontline", "Aarhus")
    odense = await member("olga", "frontline", "Odense")
    await signed_in(portal_on_synapse, aarhus)
    name = f"Aarhus Borger {aarhus.person_id}"
    response = await enrol(portal_on_synapse, citizen_form(name=name))
    letter_url = response.headers["Location"]
    person_id = person_id_of(letter_url)
    assert name in await (await portal_on_synapse.get("/borgere")).text()

    other = TestClient(TestServer(make_app(synapse.settings)))
    await other.start_server()
    try:
        await signed_in(other, odense)
        assert name not in await (await other.get("/borgere")).text()
        refused = await other.get(letter_url)
        assert refused.status == 403 and "Denne side er ikke til dig" in await refused.text()
        token = await token_for(other, "/borgere")
        renew = await other.post(
            f"/borgere/{person_id}/ny-adgangskode", data={"csrf_token": token, "confirm": "yes"}
        )
        assert renew.status == 403
        assert (await other.get(f"/borgere/{person_id}/ny-adgangskode")).status == 403
        assert not await audit_actions(
            database, action="first_password_renewed", person_id=person_id
        )
        assert (await other.get("/borgere/999999/velkomstbrev")).status == 404
    finally:
        await other.close()


async def test_only_frontline_workers_with_a_municipality_may_enrol(
    synapse: SynapseHarness, member
) -> None:
    from aiohttp.test_utils import TestServer

    from portal.app import make_app

    for role, municipality in (
        ("coordinator", None),
        ("citizen", "Aarhus"),
        ("volunteer", None),
        ("frontline", None),
    ):
        client = TestClient(TestServer(make_app(synapse.settings)))
        await client.start_server()
        try:
            someone = await member(role, role, municipality)
            await signed_in(client, someone)
            assert (await client.get("/borgere/ny")).status == 403, role
            assert (await client.get("/borgere")).status == 403, role
            token = await token_for(client, "/mine-data")
            posted = await client.post(
                "/borgere/ny", data=[*form(citizen_form()), ("csrf_token", token)]
            )
            assert posted.status == 403, role
        finally:
            await client.close()


async def test_enrolment_needs_signing_in_and_a_form_token(
    portal_on_synapse: TestClient, member
) -> None:
    response = await portal_on_synapse.get("/borgere/ny", allow_redirects=False)
    assert response.headers["Location"] == "/log-ind?next=/borgere/ny"
    frida = await member("frida", "frontline", "Aarhus")
    await signed_in(portal_on_synapse, frida)
    missing = await portal_on_synapse.post("/borgere/ny", data=form(citizen_form()))
    assert missing.status == 403


async def test_the_sign_in_help_behind_the_qr_code_fills_in_the_user_name(
    portal_on_synapse: TestClient, synapse: SynapseHarness
) -> None:
    page = await (await portal_on_synapse.get("/kom-i-gang?bruger=karen.hansen")).text()
    assert "karen.hansen" in page and ">connec.test<" in page
    # Element X opens with the server filled in; the link carries no user name.
    assert 'href="https://mobile.element.io/element/?account_provider=connec.test"' in page
    assert synapse.settings.synapse.client_url not in page
    odd = await (await portal_on_synapse.get("/kom-i-gang?bruger=<script>")).text()
    assert "<script>" not in odd and "Skriv brugernavnet fra dit velkomstbrev" in odd
