"""A session that has ended stays ended: signing out, a new first password and erasure
make an old portal cookie (and, for a new password, every app's session) worth nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from portal.app import make_app
from tests.harness import SynapseHarness
from tests.portal.helpers import Member, citizen_form, form, signed_in, token_for

pytestmark = pytest.mark.synapse

COOKIE = "connec_session"


@pytest.fixture
async def browser_of(synapse: SynapseHarness) -> AsyncIterator[Callable[[], Awaitable[TestClient]]]:
    """A factory of browsers (fresh cookie jars) on one portal."""
    server = TestServer(make_app(synapse.settings))
    clients: list[TestClient] = []

    async def make() -> TestClient:
        client = TestClient(server)
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()
    await server.close()


def cookie_of(client: TestClient) -> str:
    """The session cookie as a thief would copy it."""
    for cookie in client.session.cookie_jar:
        if cookie.key == COOKIE:
            return cookie.value
    raise AssertionError("no session cookie")


async def with_copied_cookie(browser: TestClient, cookie: str, path: str) -> int:
    """Open ``path`` in another browser holding only the copied cookie."""
    response = await browser.get(path, cookies={COOKIE: cookie}, allow_redirects=False)
    return response.status


async def sign_out(client: TestClient, page: str) -> None:
    html = await (await client.get(page)).text()
    token = html.split('action="/log-ud"')[1].split('value="')[1].split('"')[0]
    response = await client.post("/log-ud", data={"csrf_token": token}, allow_redirects=False)
    assert response.status == 303


async def test_signing_out_makes_a_copy_of_the_cookie_useless(browser_of, member) -> None:
    frida = await member("frida", "frontline", "Aarhus")
    own, thief = await browser_of(), await browser_of()
    await signed_in(own, frida)
    copied = cookie_of(own)
    assert await with_copied_cookie(thief, copied, "/borgere") == 200  # a copy works while in
    await sign_out(own, "/borgere")
    assert await with_copied_cookie(thief, copied, "/borgere") == 303


async def test_erasure_makes_an_old_cookie_useless(browser_of, member) -> None:
    karen: Member = await member("karen", "citizen", "Aarhus")
    own, thief = await browser_of(), await browser_of()
    await signed_in(own, karen)
    copied = cookie_of(own)
    token = await token_for(own, "/mine-data")
    response = await own.post(
        "/mine-data/slet", data={"csrf_token": token, "confirm": "yes"}, allow_redirects=False
    )
    assert response.headers["Location"] == "/mine-data/slettet"
    assert await with_copied_cookie(thief, copied, "/mine-data") == 303
    assert await with_copied_cookie(thief, copied, "/mine-data/download") == 303


async def whoami(synapse: SynapseHarness, token: str) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{synapse.url}/_matrix/client/v3/account/whoami",
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        return response.status


async def test_a_new_first_password_signs_the_citizen_out_everywhere(
    synapse: SynapseHarness, browser_of, member
) -> None:
    """A lost welcome letter: whoever found it and signed in is signed out again."""
    import re

    frida = await member("frida", "frontline", "Aarhus")
    worker = await browser_of()
    await signed_in(worker, frida)
    token = await token_for(worker, "/borgere/ny")
    made = await worker.post(
        "/borgere/ny",
        data=[*form(citizen_form(name=f"Glemsom Borger {frida.person_id}")), ("csrf_token", token)],
        allow_redirects=False,
    )
    letter_url = made.headers["Location"]
    letter = await (await worker.get(letter_url)).text()
    found = re.search(r'data-testid="first-password">([^<]+)<', letter)
    assert found is not None
    first = found.group(1)
    person_id = int(letter_url.split("/")[2])
    from connec.models import Person
    from portal.keys import DATABASE

    async with worker.app[DATABASE].session() as session:
        citizen = await session.get(Person, person_id)
    assert citizen is not None

    # Whoever holds the letter signs in on a phone and on the portal.
    phone = await synapse.admin.login(citizen.matrix_id, first)
    assert await whoami(synapse, phone["access_token"]) == 200
    finder = await browser_of()
    page = await (await finder.get("/log-ind")).text()
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = await finder.post(
        "/log-ind",
        data={"csrf_token": csrf, "user": citizen.matrix_id, "password": first},
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/mine-data"

    token = await token_for(worker, letter_url)
    renewed = await worker.post(
        f"/borgere/{person_id}/ny-adgangskode",
        data={"csrf_token": token, "confirm": "yes"},
        allow_redirects=False,
    )
    assert renewed.status == 303

    assert await whoami(synapse, phone["access_token"]) == 401
    devices = await synapse.admin.admin("GET", f"/v2/users/{citizen.matrix_id}/devices")
    assert devices["total"] == 0
    assert (await finder.get("/mine-data", allow_redirects=False)).status == 303
