"""The evidence report on the portal: who may open it, for which municipality, and its CSV.

No Synapse here: the data folder holds the made-up population of ``connec demo data``,
and a coordinator is signed in by giving the portal the session its sign-in would
have made (the same encrypted cookie and ``portal_sessions`` row), so everything
after the password check is the portal's own code.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
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


@pytest.fixture(scope="module")
async def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    standalone_app(folder)  # secrets and schema
    await seed_demo(load_settings(folder), now=NOW)
    return folder


@pytest.fixture
async def client(demo_folder: Path) -> AsyncIterator[TestClient]:
    client = TestClient(TestServer(standalone_app(demo_folder)))
    await client.start_server()
    yield client
    await client.close()


async def sign_in_as(
    client: TestClient, folder: Path, name: str, role: str, municipality: str | None
) -> None:
    """Make a staff member and give the client the cookie their sign-in would have given."""
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
    token = Fernet(base64.urlsafe_b64encode(key)).encrypt(json.dumps(payload).encode()).decode()
    client.session.cookie_jar.update_cookies({"connec_session": token})


async def test_someone_not_signed_in_is_sent_to_sign_in_first(client: TestClient) -> None:
    response = await client.get("/koordinator/rapport", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/log-ind?next=/koordinator/rapport")
    response = await client.get("/koordinator/rapport.csv", allow_redirects=False)
    assert response.status == 303


async def test_a_frontline_worker_does_not_see_the_report(
    client: TestClient, demo_folder: Path
) -> None:
    await sign_in_as(client, demo_folder, "frida", "frontline", "Aarhus")
    assert (await client.get("/koordinator/rapport")).status == 403
    assert (await client.get("/koordinator/rapport.csv")).status == 403


async def test_a_coordinator_sees_their_own_municipality_and_no_other(
    client: TestClient, demo_folder: Path
) -> None:
    await sign_in_as(client, demo_folder, "carl", "coordinator", "Aarhus")
    response = await client.get("/koordinator/rapport")
    page = await response.text()
    assert response.status == 200, page
    assert "Aarhus" in page and "Odder" not in page
    assert response.headers["Cache-Control"] == "no-store"
    for heading in ("Læs dette først", "Ensomhed, person for person", "Kontakt", "Grupper"):
        assert heading in page
    assert "7.960" in page  # the health-cost figure, Danish style
    # Another municipality's report is refused, however it is asked for.
    assert (await client.get("/koordinator/rapport?kommune=Odder")).status == 403
    assert (await client.get("/koordinator/rapport.csv?kommune=Odder")).status == 403
    assert (await client.get("/koordinator/rapport?kommune=Aarhus")).status == 200


async def test_the_whole_deployment_coordinator_chooses_a_municipality(
    client: TestClient, demo_folder: Path
) -> None:
    await sign_in_as(client, demo_folder, "cora", "coordinator", None)
    everyone = await (await client.get("/koordinator/rapport")).text()
    odder = await (await client.get("/koordinator/rapport?kommune=Odder")).text()
    assert "Alle kommuner" in everyone
    assert "Odder" in odder
    assert (await client.get("/koordinator/rapport?kommune=Atlantis")).status == 404


async def test_the_csv_holds_the_same_figures_and_none_under_five(
    client: TestClient, demo_folder: Path
) -> None:
    await sign_in_as(client, demo_folder, "cecilie", "coordinator", "Aarhus")
    response = await client.get("/koordinator/rapport.csv")
    assert response.status == 200
    assert response.content_type == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert rows
    counts = [
        r
        for r in rows
        if (
            r["section"] in ("cohort", "contact")
            and r["measure"] in ("enrolled", "had_a_visit_room", "waiting_now", "friendships")
        )
        or r["measure"].startswith("paired_")
    ]
    assert counts
    for row in counts:
        assert row["value"] == "" or int(row["value"]) >= 5, row
        if row["value"] == "":
            assert row["note"].startswith("hidden")
    shown = {
        r["measure"]: r["value"]
        for r in rows
        if r["section"] == "cohort" and r["group_kind"] == "all"
    }
    page = await (await client.get("/koordinator/rapport")).text()
    assert f">{shown['enrolled']}<" in page  # the page and the CSV say the same
