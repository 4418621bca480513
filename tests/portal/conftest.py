"""Fixtures for the portal's tests: the real browser, and the portal served on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from connec.secrets import ensure_secrets
from connec.settings import load_settings
from portal.app import make_app
from tests.browser import browser, page

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
