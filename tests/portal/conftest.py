"""Fixtures for the portal's tests: the real browser, the portal served on loopback, and
the portal on the session's real Synapse with staff members to sign in as."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from connec.db import Database
from connec.secrets import ensure_secrets
from connec.settings import load_settings
from portal.app import DATABASE, make_app
from tests.browser import browser, page
from tests.portal.helpers import Member, add_member

__all__ = ["browser", "live_portal", "page"]


@pytest.fixture
async def live_portal(tmp_path: Path) -> AsyncIterator[str]:
    """The portal answering on a free port on 127.0.0.1; gives its base URL, no slash."""
    from connec.db import migrate

    settings = load_settings(tmp_path)
    ensure_secrets(settings.paths.secrets)
    migrate(settings.db_url)
    server = TestServer(make_app(settings), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest.fixture
async def portal_on_synapse(synapse) -> AsyncIterator[TestClient]:
    """A fresh browser-like client of the portal on the session's Synapse and database."""
    client = TestClient(TestServer(make_app(synapse.settings)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def database(portal_on_synapse: TestClient) -> Database:
    """The database the portal (and the bots) of the session use."""
    return portal_on_synapse.app[DATABASE]


@pytest.fixture
async def member(synapse, database: Database) -> Callable[..., Awaitable[Member]]:
    """A factory: ``await member("frida", "frontline", "Aarhus")``: an account with a role."""

    async def make(name: str, role: str, municipality: str | None = None, **fields: Any) -> Member:
        return await add_member(synapse, database, name, role, municipality, **fields)

    return make


@pytest.fixture
async def live_portal_on_synapse(synapse) -> AsyncIterator[str]:
    """The portal on the session's Synapse, answering on a free loopback port, for the browser."""
    server = TestServer(make_app(synapse.settings), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
