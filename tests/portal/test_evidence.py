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
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from connec.db import Database
from connec.models import Booking, Circle, CircleMember, Person
from connec.settings import load_settings
from portal.keys import LANG_COOKIE
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
    assert "Cirkler" not in page  # the made-up people have no circles: not a word of them
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
    assert not [r for r in rows if "circle" in r["measure"]]  # no circles, no such lines


def figures(page: str) -> dict[str, str]:
    """The circles' part of the report: each fact's words and its figure."""
    part = page.split('id="contact"', 1)[1].split("<h3>", 1)[1].split("</dl>")[0]
    return {
        dt.split("</dt>")[0]: dt.split("<dd>")[1].split("</dd>")[0] for dt in part.split("<dt>")[1:]
    }


async def test_circles_and_their_gatherings_are_counted_from_the_tables(tmp_path: Path) -> None:
    """Read from the database: the circles that had a room and one of the municipality's
    people, who is still in them, and the gatherings held, a closed circle's until it closed."""
    client = TestClient(TestServer(standalone_app(tmp_path)))
    await client.start_server()
    db = Database(load_settings(tmp_path).db_url)
    now = datetime.now(UTC)
    began = now - timedelta(days=70)
    try:
        async with db.session() as session:

            def person(name: str, municipality: str, role: str = "citizen") -> Person:
                row = Person(
                    matrix_id=f"@{name}:demo.invalid", role=role, municipality=municipality
                )
                session.add(row)
                return row

            aarhus = [person(f"a{i}", "Aarhus") for i in range(13)]
            odder = [person(f"o{i}", "Odder") for i in range(10)]
            host = person("host", "Aarhus", role="volunteer")
            circles = [
                Circle(
                    topic=f"Emne {i}", state="introduced", room_id=f"!c{i}:t", introduced_at=began
                )
                for i in range(7)
            ]
            circles[5].state, circles[5].closed_at = "closed", began + timedelta(days=30)
            asking = Circle(topic="Spørger", state="asking")
            session.add_all([*circles, asking])
            await session.flush()

            def member(circle: Circle, who: Person, state: str = "yes", invited: bool = True):
                session.add(
                    CircleMember(
                        circle_id=circle.id,
                        person_id=who.id,
                        state=state,
                        invited_at=began if invited else None,
                    )
                )

            # Aarhus: six circles with two citizens each (a0-a11); the last one closed.
            for k in range(6):
                member(circles[k], aarhus[2 * k])
                member(circles[k], aarhus[2 * k + 1])
                member(circles[k], host, state="yes")  # a volunteer host: not counted
            member(circles[0], aarhus[12], state="left")  # was in it, left: not counted
            # Odder's circle: only Odder's people, and an Aarhus citizen who left before the
            # room was made (a late no), so it is not Aarhus's.
            for who in odder[:5]:
                member(circles[6], who)
            member(circles[6], aarhus[0], state="left", invited=False)
            member(asking, aarhus[1])  # no room yet: not counted

            def weekly(circle: Circle, state: str = "confirmed", **fields: object) -> Booking:
                return Booking(
                    circle_id=circle.id,
                    room_id=circle.room_id or "",
                    booked_by="@host:demo.invalid",
                    starts_at=began + timedelta(days=3),
                    weekly=True,
                    state=state,
                    **fields,
                )

            # Days 3, 10, ..., 66: ten gatherings each in the five open circles of Aarhus;
            # the closed one until day 30 only (3, 10, 17, 24), its booking never cancelled.
            session.add_all([weekly(c) for c in circles[:6]])
            session.add(weekly(circles[6]))  # Odder's: not Aarhus's
            session.add(
                weekly(circles[1], state="cancelled", updated_at=began + timedelta(days=12))
            )  # called off after two (3, 10)
        await sign_in_as(client, tmp_path, "carl", "coordinator", "Aarhus")

        held = 5 * 10 + 4 + 2
        months = (5 * 70 + 30) / (365.25 / 12)
        rows = list(
            csv.DictReader(io.StringIO(await (await client.get("/koordinator/rapport.csv")).text()))
        )
        shown = {r["measure"]: r["value"] for r in rows if "circle" in r["measure"]}
        assert shown["circles_with_a_room"] == "6"
        assert shown["people_in_circles"] == "12"
        assert abs(float(shown["circle_months"]) - months) < 0.01
        assert abs(float(shown["gatherings_held_per_circle_month"]) - held / months) < 0.01

        da = figures(await (await client.get("/koordinator/rapport")).text())
        rate = f"{held / months:.1f}"
        assert da == {
            "Cirkler med et rum": "6",
            "Borgere og ligesindede borgere i dem": "12",
            "Afholdte samlinger pr. cirkel pr. måned": rate.replace(".", ","),
        }
        client.session.cookie_jar.update_cookies({LANG_COOKIE: "en"})
        en = figures(await (await client.get("/koordinator/rapport")).text())
        assert en == {
            "Circles with a room": "6",
            "Citizens and like-minded citizens in them": "12",
            "Gatherings held per circle per month": rate,
        }

        # Odder has one circle, of five of its citizens: one circle is hidden, five shown.
        await sign_in_as(client, tmp_path, "olga", "coordinator", "Odder")
        client.session.cookie_jar.update_cookies({LANG_COOKIE: "da"})
        odder_page = figures(await (await client.get("/koordinator/rapport")).text())
        assert odder_page["Cirkler med et rum"] == '<span class="hidden-figure">færre end 5</span>'
        assert odder_page["Borgere og ligesindede borgere i dem"] == "5"
    finally:
        await db.close()
        await client.close()


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
