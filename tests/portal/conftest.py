"""Fixtures for the portal's tests: the real browser, the portal served on loopback, and
the portal on the session's real Synapse with staff members to sign in as."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from connec.db import Database, migrate
from connec.secrets import ensure_secrets
from connec.settings import load_settings
from portal.app import DATABASE, make_app
from tests.browser import browser, page
from tests.portal.helpers import Member, add_member

__all__ = ["browser", "live_portal", "page", "portal"]


def standalone_app(data_dir: Path) -> Any:
    """The portal on a data folder of its own (secrets and schema, no Synapse)."""
    settings = load_settings(data_dir)
    ensure_secrets(settings.paths.secrets)
    migrate(settings.db_url)
    return make_app(settings)


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[TestClient]:
    """The portal without Synapse, for pages that need none."""
    client = TestClient(TestServer(standalone_app(tmp_path)))
    await client.start_server()
    yield client
    await client.close()


@pytest.fixture
async def live_portal(tmp_path: Path) -> AsyncIterator[str]:
    """The portal answering on a free port on 127.0.0.1; gives its base URL, no slash."""
    server = TestServer(standalone_app(tmp_path), host="127.0.0.1")
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
