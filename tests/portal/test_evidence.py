"""The evidence report on the portal: who may open it, for which municipality, and its CSV.

No Synapse here: the data folder holds the made-up population of ``connec demo data``,
and a coordinator is signed in by giving the portal the session its sign-in would
have made (the same encrypted cookie and ``portal_sessions`` row), so everything
after the password check is the portal's own code.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.portal.conftest import standalone_app
from tests.portal.evidence_helpers import demo_folder_in, session_cookie


@pytest.fixture(scope="module")
async def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return await demo_folder_in(tmp_path_factory.mktemp("report"))


@pytest.fixture
async def client(demo_folder: Path) -> AsyncIterator[TestClient]:
    client = TestClient(TestServer(standalone_app(demo_folder)))
    await client.start_server()
    yield client
    await client.close()


async def sign_in_as(
    client: TestClient, folder: Path, name: str, role: str, municipality: str | None
) -> None:
    """Give the client the cookie a staff member's sign-in would have given."""
    cookie = await session_cookie(folder, name, role, municipality)
    client.session.cookie_jar.update_cookies({"connec_session": cookie})


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


@pytest.mark.synapse
async def test_signed_in_through_synapse_a_coordinator_opens_only_their_own_report(
    portal_on_synapse: TestClient, member
) -> None:
    """The whole way, with a real password check: sign in, open, and be refused elsewhere."""
    from tests.portal.helpers import signed_in

    carl = await member("carl-rapport", "coordinator", "Svendborg")
    await signed_in(portal_on_synapse, carl)
    page = await (await portal_on_synapse.get("/koordinator")).text()
    assert 'href="/koordinator/rapport"' in page  # the dashboard leads there
    response = await portal_on_synapse.get("/koordinator/rapport")
    assert response.status == 200
    assert "Hvad connec ændrer for ensomme: Svendborg" in await response.text()
    assert (await portal_on_synapse.get("/koordinator/rapport?kommune=Aarhus")).status == 403
    csv_text = await (await portal_on_synapse.get("/koordinator/rapport.csv")).text()
    assert csv_text.startswith("section,group_kind,group,measure,value,note")
