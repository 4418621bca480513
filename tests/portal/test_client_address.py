"""Behind the reverse proxy, the portal tells people apart by the address the proxy saw.

The walk over X-Forwarded-For is pure and tested on its own; then a real portal on a
Synapse rendered for production (Synapse's own sign-in limits) shows that one
guesser locks out neither the others behind the same proxy nor the staff.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from connec.db import Database
from connec.provision import prepare_files, provision_accounts
from connec.secrets import load_secrets
from connec.settings import Settings, load_settings
from connec.synapse_admin import SynapseAdmin
from connec.synapse_process import SynapseRunner, free_port
from portal.app import make_app
from portal.client_address import client_address, limit_key, trusted_networks
from portal.keys import SIGN_INS
from tests.harness import Account
from tests.portal.helpers import Member

LOOPBACK = trusted_networks(["127.0.0.1", "::1"])


# The walk -----------------------------------------------------------------------


def test_a_request_from_a_trusted_proxy_is_the_address_the_proxy_saw() -> None:
    assert client_address("127.0.0.1", ["203.0.113.7"], LOOPBACK) == "203.0.113.7"


def test_what_a_client_wrote_itself_before_the_proxy_is_not_believed() -> None:
    # nginx with $proxy_add_x_forwarded_for appends what it saw to what was sent.
    assert client_address("127.0.0.1", ["10.9.9.9, 203.0.113.7"], LOOPBACK) == "203.0.113.7"
    assert client_address("127.0.0.1", ["10.9.9.9", "203.0.113.7"], LOOPBACK) == "203.0.113.7"


def test_a_chain_of_trusted_proxies_is_walked_to_the_first_it_does_not_trust() -> None:
    trusted = trusted_networks(["127.0.0.1", "10.0.0.0/8"])
    assert client_address("127.0.0.1", ["203.0.113.7, 10.0.0.2"], trusted) == "203.0.113.7"


def test_a_header_from_anyone_else_is_ignored() -> None:
    assert client_address("198.51.100.4", ["203.0.113.7"], LOOPBACK) == "198.51.100.4"
    assert client_address("127.0.0.1", ["203.0.113.7"], ()) == "127.0.0.1"


def test_what_is_no_address_ends_the_walk() -> None:
    assert client_address("127.0.0.1", ["evil, 203.0.113.7"], LOOPBACK) == "203.0.113.7"
    assert client_address("127.0.0.1", ["not an address"], LOOPBACK) == "127.0.0.1"
    assert client_address("127.0.0.1", [" [2001:db8::5] "], LOOPBACK) == "2001:db8::5"
    assert client_address(None, [], LOOPBACK) == "unknown"


def test_an_ipv6_home_is_counted_as_one() -> None:
    assert limit_key("2001:db8:1:2:aaaa::1") == limit_key("2001:db8:1:2:bbbb::2")
    assert limit_key("2001:db8:1:3::1") != limit_key("2001:db8:1:2::1")
    assert limit_key("203.0.113.7") == "203.0.113.7"


def test_a_trusted_proxy_must_be_an_address() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="trusted_proxies"):
        load_settings(Path("/nonexistent"), portal={"trusted_proxies": ["proxy.example"]})


# A production Synapse behind the proxy -----------------------------------------


@dataclass
class Production:
    settings: Settings
    admin: SynapseAdmin
    database: Database


@pytest.fixture(scope="module")
async def production() -> AsyncIterator[Production]:
    """Synapse rendered as for production (public_url set), the portal trusting loopback."""
    data = Path(tempfile.mkdtemp(prefix="connec-proxy-"))
    settings = load_settings(
        data,
        synapse={
            "port": free_port(),
            "metrics_port": free_port(),
            "server_name": "proxy.test",
            "public_url": "https://matrix.proxy.test",
        },
        portal={"port": free_port(), "trusted_proxies": ["127.0.0.1", "::1"]},
    )
    secrets = await asyncio.to_thread(prepare_files, settings)
    runner = SynapseRunner(settings)
    await asyncio.to_thread(runner.start)
    try:
        await provision_accounts(settings, secrets)
        secrets = load_secrets(settings.paths.secrets)
        admin = SynapseAdmin(
            settings.synapse.url,
            shared_secret=secrets.registration_shared_secret,
            admin_token=secrets.admin_access_token,
        )
        database = Database(settings.db_url)
        yield Production(settings, admin, database)
        await admin.close()
        await database.close()
    finally:
        await asyncio.to_thread(runner.stop)
        shutil.rmtree(data, ignore_errors=True)


_counter = 0


async def staff(production: Production, name: str) -> Member:
    """A frontline worker on the production Synapse (an account made by the admin API)."""
    from connec.models import Person

    global _counter
    _counter += 1
    localpart = f"{name}-{_counter}"
    password = "en-lang-nok-adgangskode"
    made = await production.admin.register(localpart, password)
    async with production.database.session() as session:
        person = Person(
            matrix_id=made["user_id"], role="frontline", display_name=name, municipality="Aarhus"
        )
        session.add(person)
        await session.flush()
        person_id = person.id
    account = Account(made["user_id"], password, made["access_token"], made["device_id"])
    return Member(account, person_id, "frontline", "Aarhus")


async def sign_in_from(client: TestClient, address: str, member: Member, password: str) -> int:
    """A sign-in through the proxy from ``address``; the answer's status."""
    client.session.cookie_jar.clear()
    headers = {"X-Forwarded-For": address}
    response = await client.get("/log-ind", headers=headers)
    from tests.portal.helpers import token_in

    token = token_in(await response.text())
    response = await client.post(
        "/log-ind",
        data={"csrf_token": token, "user": member.user_id, "password": password},
        headers=headers,
        allow_redirects=False,
    )
    return response.status


@pytest.fixture
async def proxied_portal(production: Production) -> AsyncIterator[TestClient]:
    client = TestClient(TestServer(make_app(production.settings), host="127.0.0.1"))
    await client.start_server()
    yield client
    await client.close()


async def test_synapse_behind_the_proxy_keeps_its_own_sign_in_limits(
    production: Production,
) -> None:
    """Five sign-ins from one address at once, then a wait; another address is not held up."""
    people = [await staff(production, f"sigrid{n}") for n in range(7)]
    url = production.settings.synapse.url
    statuses = []
    async with aiohttp.ClientSession() as http:
        for person in people[:6]:
            async with http.post(
                f"{url}/_matrix/client/v3/login",
                json={
                    "type": "m.login.password",
                    "identifier": {"type": "m.id.user", "user": person.user_id},
                    "password": person.account.password,
                },
                headers={"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https"},
            ) as response:
                statuses.append(response.status)
    assert statuses == [200] * 5 + [429]
    other = await production.admin.login(
        people[6].user_id, people[6].account.password, client_address="198.51.100.2"
    )
    assert other["access_token"]


async def test_the_portal_tells_synapse_whose_sign_in_it_is(
    production: Production, proxied_portal: TestClient
) -> None:
    """Seven staff behind one proxy sign in: Synapse would stop the sixth from one address."""
    for n in range(7):
        worker = await staff(production, f"frida{n}")
        assert (
            await sign_in_from(
                proxied_portal, f"203.0.113.{10 + n}", worker, "en-lang-nok-adgangskode"
            )
            == 303
        )


async def test_one_guesser_behind_the_proxy_locks_out_only_themselves(
    production: Production, proxied_portal: TestClient
) -> None:
    victims = [await staff(production, f"victim{n}") for n in range(10)]
    # Twenty wrong guesses from one address, spread over accounts (two each).
    for n in range(20):
        status = await sign_in_from(proxied_portal, "192.0.2.66", victims[n % 10], "gæt")
        assert status in (400, 429)
    assert (
        await sign_in_from(proxied_portal, "192.0.2.66", victims[0], "en-lang-nok-adgangskode")
        == 429
    )
    # Everyone else behind the same proxy still signs in.
    colleague = await staff(production, "kollega")
    assert (
        await sign_in_from(proxied_portal, "203.0.113.99", colleague, "en-lang-nok-adgangskode")
        == 303
    )
    assert "address:192.0.2.66" in proxied_portal.app[SIGN_INS]._failures
    assert not any("127.0.0.1" in key for key in proxied_portal.app[SIGN_INS]._failures)


async def test_metrics_are_never_served_through_the_proxy(proxied_portal: TestClient) -> None:
    assert (await proxied_portal.get("/metrics")).status == 200
    response = await proxied_portal.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
    assert response.status == 403


def test_the_documented_proxies_tell_the_portal_whose_request_it_is() -> None:
    import re

    from connec.synapse_config import REPO_ROOT

    for doc in ("production.md", "element.md"):
        text = (REPO_ROOT / "docs" / doc).read_text()
        assert "X-Forwarded-For $proxy_add_x_forwarded_for" not in text  # keeps a forgery
        blocks = re.findall(r"location [^{]*\{([^}]*)\}", text)
        to_portal = [block for block in blocks if "proxy_pass http://127.0.0.1:8080" in block]
        assert to_portal, f"docs/{doc} shows no proxy for the portal"
        for block in to_portal:
            assert "proxy_set_header X-Forwarded-For $remote_addr;" in block, block
    production = (REPO_ROOT / "docs" / "production.md").read_text()
    assert 'trusted_proxies = ["127.0.0.1", "::1"]' in production
