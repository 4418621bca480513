"""The evidence report's test data: a folder with the made-up population, and a signed-in
coordinator without Synapse (the cookie and session row a sign-in would have made)."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet

from connec.db import Database
from connec.evidence.demo import seed_demo
from connec.models import Person
from connec.secrets import load_secrets
from connec.settings import load_settings
from portal import sessions
from portal.app import cookie_key
from tests.portal.conftest import standalone_app

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


async def demo_folder_in(folder: Path) -> Path:
    """A data folder with secrets, schema and the made-up population of ``connec demo data``."""
    standalone_app(folder)
    await seed_demo(load_settings(folder), now=NOW)
    return folder


async def session_cookie(folder: Path, name: str, role: str, municipality: str | None) -> str:
    """A staff member, and the session cookie their sign-in would have given them."""
    settings = load_settings(folder)
    matrix_id = f"@{name}-{time.monotonic_ns()}:localhost"
    db = Database(settings.db_url)
    async with db.session() as session:
        session.add(Person(matrix_id=matrix_id, role=role, municipality=municipality))
        session_id = await sessions.start(
            session, matrix_id, at=datetime.now(UTC), max_age=8 * 3600
        )
    await db.close()
    key = cookie_key(load_secrets(settings.paths.secrets).portal_cookie_key)
    payload = {
        "created": int(time.time()),
        "session": {"user": matrix_id, "since": int(time.time()), sessions.COOKIE_KEY: session_id},
    }
    return Fernet(base64.urlsafe_b64encode(key)).encrypt(json.dumps(payload).encode()).decode()
