"""Signing in to the portal with a Matrix account, checked against the real Synapse."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

from connec.clock import FrozenClock
from portal.app import make_app
from portal.auth import PORTAL_DEVICE
from portal.keys import SYNAPSE
from tests.harness import SynapseHarness
from tests.portal.helpers import (
    fields_in_error,
    now,
    sign_in,
    signed_in,
    token_for,
    token_in,
)

pytestmark = pytest.mark.synapse

WRONG = "Brugernavnet eller adgangskoden er ikke rigtig"


async def test_a_frontline_worker_signs_in_and_lands_on_the_citizens(
    portal_on_synapse: TestClient, member
) -> None:
    frida = await member("frida", "frontline", "Aarhus")
    response = await sign_in(portal_on_synapse, frida)
    assert response.status == 303 and response.headers["Location"] == "/borgere"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = await (await portal_on_synapse.get("/borgere")).text()
    assert "Borgere i Aarhus" in page and "Log ud" in page


async def test_a_coordinator_lands_on_the_dashboard_and_a_citizen_on_my_data(
    synapse: SynapseHarness, member
) -> None:
    for role, home in (("coordinator", "/koordinator"), ("citizen", "/mine-data")):
        client = TestClient(TestServer(make_app(synapse.settings)))
        await client.start_server()
        try:
            someone = await member(role, role)
            response = await sign_in(client, someone)
            assert response.headers["Location"] == home
        finally:
            await client.close()


async def test_signing_in_goes_back_to_the_page_asked_for_but_never_elsewhere(
    portal_on_synapse: TestClient, member
) -> None:
    carl = await member("carl", "coordinator")
    response = await portal_on_synapse.get("/koordinator", allow_redirects=False)
    assert response.headers["Location"] == "/log-ind?next=/koordinator"
    for next_ in ("//evil.example", "/\t/evil.example", "/\\evil.example", "/\n/evil.example"):
        page = await (await portal_on_synapse.get("/log-ind", params={"next": next_})).text()
        assert "evil.example" not in page, next_
    for next_ in ("//evil.example", "/\t/evil.example"):
        portal_on_synapse.session.cookie_jar.clear()  # signed out, a fresh form
        page = await (await portal_on_synapse.get("/log-ind")).text()
        response = await portal_on_synapse.post(
            "/log-ind",
            data={
                "csrf_token": token_in(page),
                "user": carl.localpart,
                "password": carl.account.password,
                "next": next_,
            },
            allow_redirects=False,
        )
        assert response.headers["Location"] == "/koordinator", next_
    # Signed in, the sign-in page sends on at once: still only on this site.
    response = await portal_on_synapse.get(
        "/log-ind", params={"next": "/\t/evil.example"}, allow_redirects=False
    )
    assert response.headers["Location"] == "/koordinator"


async def test_an_unknown_name_and_a_wrong_password_get_the_same_answer(
    portal_on_synapse: TestClient, member
) -> None:
    frida = await member("frida", "frontline", "Aarhus")
    wrong = await sign_in(portal_on_synapse, frida, password="not-the-password")
    token = await token_for(portal_on_synapse, "/log-ind")
    unknown = await portal_on_synapse.post(
        "/log-ind", data={"csrf_token": token, "user": "nobody-here", "password": "whatever"}
    )
    elsewhere = await portal_on_synapse.post(
        "/log-ind",
        data={"csrf_token": token, "user": "@frida:other.example", "password": "whatever"},
    )
    texts = [await r.text() for r in (wrong, unknown, elsewhere)]
    assert {r.status for r in (wrong, unknown, elsewhere)} == {400}
    assert all(WRONG in text for text in texts)
    assert 'value="nobody-here"' in texts[1]  # the name is kept, the password never
    assert "not-the-password" not in texts[0]


async def test_failed_sign_ins_are_limited_per_account_even_with_the_right_password_after(
    portal_on_synapse: TestClient, member
) -> None:
    frida = await member("frida", "frontline", "Aarhus")
    for _ in range(5):
        assert (await sign_in(portal_on_synapse, frida, password="guess")).status == 400
    blocked = await sign_in(portal_on_synapse, frida)
    assert blocked.status == 429
    assert "for mange forsøg" in await blocked.text()


async def test_empty_fields_are_named_next_to_the_field(portal_on_synapse: TestClient) -> None:
    token = await token_for(portal_on_synapse, "/log-ind")
    response = await portal_on_synapse.post(
        "/log-ind", data={"csrf_token": token, "user": "", "password": ""}
    )
    assert response.status == 400
    page = await response.text()
    assert fields_in_error(page) == {"user", "password"}
    assert 'aria-describedby="user-hint user-error" aria-invalid="true"' in page


async def test_a_sign_in_without_the_form_token_is_refused_kindly(
    portal_on_synapse: TestClient, member
) -> None:
    frida = await member("frida", "frontline", "Aarhus")
    await portal_on_synapse.get("/log-ind")
    for token in (None, "forged"):
        data = {"user": frida.user_id, "password": frida.account.password}
        if token:
            data["csrf_token"] = token
        response = await portal_on_synapse.post("/log-ind", data=data, allow_redirects=False)
        assert response.status == 403
        assert "Formularen var udløbet" in await response.text()
    assert (await portal_on_synapse.get("/borgere", allow_redirects=False)).status == 303


async def test_the_password_check_leaves_no_session_on_the_account(
    synapse: SynapseHarness, portal_on_synapse: TestClient, member
) -> None:
    frida = await member("frida", "frontline", "Aarhus")
    await signed_in(portal_on_synapse, frida)
    devices = await synapse.admin.admin("GET", f"/v2/users/{frida.user_id}/devices")
    assert PORTAL_DEVICE not in {d["device_id"] for d in devices["devices"]}


async def test_signing_out_forgets_the_session(portal_on_synapse: TestClient, member) -> None:
    frida = await member("frida", "frontline", "Aarhus")
    await signed_in(portal_on_synapse, frida)
    page = await (await portal_on_synapse.get("/borgere")).text()
    token = page.split('action="/log-ud"')[1].split('value="')[1].split('"')[0]
    response = await portal_on_synapse.post(
        "/log-ud", data={"csrf_token": token}, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == "/"
    assert (await portal_on_synapse.get("/borgere", allow_redirects=False)).status == 303


async def test_a_session_ends_after_a_working_day(synapse: SynapseHarness, member) -> None:
    clock = FrozenClock(now())
    client = TestClient(TestServer(make_app(synapse.settings, clock=clock)))
    await client.start_server()
    try:
        frida = await member("frida", "frontline", "Aarhus")
        await signed_in(client, frida)
        assert (await client.get("/borgere", allow_redirects=False)).status == 200
        clock.advance(timedelta(hours=8, minutes=1))
        assert (await client.get("/borgere", allow_redirects=False)).status == 303
    finally:
        await client.close()


async def test_while_synapse_is_unreachable_sign_in_says_so_kindly(
    portal_on_synapse: TestClient, member
) -> None:
    frida = await member("frida", "frontline", "Aarhus")
    admin = portal_on_synapse.app[SYNAPSE]
    real = admin.base_url
    admin.base_url = "http://127.0.0.1:9"  # nothing listens on the discard port
    try:
        response = await sign_in(portal_on_synapse, frida)
    finally:
        admin.base_url = real
    assert response.status == 503
    page = await response.text()
    assert "kan ikke tjekke din adgangskode lige nu" in page
    assert f'value="{frida.user_id}"' in page
    assert (await sign_in(portal_on_synapse, frida)).status == 303
