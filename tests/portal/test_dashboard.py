"""The coordinator's dashboard: approving and turning down volunteers, and seeing how pairs do.

Each test works in a municipality of its own, so the shared database's other rows
stay out of its coordinator's view.
"""

from __future__ import annotations

import re
from datetime import timedelta
from itertools import count

import pytest
from aiohttp.test_utils import TestClient, TestServer

from connec.db import Database
from connec.models import Booking, Concern, Match, Person, Proposal, WellbeingAnswer
from portal.app import make_app
from portal.keys import SYNAPSE
from tests.harness import SynapseHarness
from tests.portal.helpers import audit_actions, now, person_by_id, signed_in, token_in

pytestmark = pytest.mark.synapse

_towns = count(1)


def town() -> str:
    """A municipality only this test uses."""
    return f"Testby {next(_towns)}-{now().timestamp():.0f}"


async def add_person(database: Database, **fields) -> int:
    async with database.session() as session:
        fields.setdefault("matrix_id", f"@p{now().timestamp()}-{next(_towns)}:connec.test")
        fields.setdefault("display_name", "Someone")
        person = Person(**fields)
        session.add(person)
        await session.flush()
        return person.id


async def pending_volunteer(
    database: Database, municipality: str | None, name: str, **fields
) -> int:
    fields.setdefault("matrix_id", f"@{name.lower().replace(' ', '.')}.{next(_towns)}:connec.test")
    return await add_person(
        database,
        role="volunteer",
        approval="pending",
        display_name=name,
        municipality=municipality,
        email="vol@example.dk",
        motivation="Jeg vil gerne hjælpe.",
        languages=["da"],
        interest_keys=["jazz"],
        availability=["tue-am"],
        **fields,
    )


async def post_on_dashboard(client: TestClient, path: str, **data: str):
    page = await (await client.get("/koordinator")).text()
    return await client.post(
        path, data={"csrf_token": token_in(page), **data}, allow_redirects=False
    )


async def test_a_coordinator_approves_a_volunteer_and_passes_on_a_first_password_once(
    synapse: SynapseHarness, portal_on_synapse: TestClient, database: Database, member
) -> None:
    here = town()
    carl = await member("carl", "coordinator", here)
    await signed_in(portal_on_synapse, carl)
    volunteer_id = await pending_volunteer(database, here, "Vera Frivillig")
    page = await (await portal_on_synapse.get("/koordinator")).text()
    assert "Vera Frivillig" in page and "Jeg vil gerne hjælpe." in page

    response = await post_on_dashboard(
        portal_on_synapse, f"/koordinator/frivillige/{volunteer_id}/godkend"
    )
    assert response.headers["Location"] == f"/koordinator/frivillige/{volunteer_id}/godkendt"
    shown = await (await portal_on_synapse.get(response.headers["Location"])).text()
    password = re.search(r'data-testid="first-password">([^<]+)<', shown).group(1)

    vera = await person_by_id(database, volunteer_id)
    assert vera is not None and vera.approval == "approved" and vera.approved_by == carl.user_id
    assert (await synapse.admin.get_user(vera.matrix_id)) is not None
    login = await synapse.admin.login(vera.matrix_id, password)
    await synapse.admin.request(
        "POST", "/_matrix/client/v3/logout", token=login["access_token"], json={}
    )

    again = await (await portal_on_synapse.get(response.headers["Location"])).text()
    assert password not in again
    [line] = await audit_actions(database, action="volunteer_approved", person_id=volunteer_id)
    assert line.actor == carl.user_id and line.details == {"account": "created"}
    page = await (await portal_on_synapse.get("/koordinator")).text()
    pending, waiting = page.split('id="waiting"')[:2]
    assert "Vera Frivillig" not in pending.split('id="pending"')[1]
    assert "Vera Frivillig" in waiting  # approved: now waiting for a match


async def test_a_volunteer_with_their_own_federated_account_is_approved_without_a_new_one(
    synapse: SynapseHarness, portal_on_synapse: TestClient, database: Database, member
) -> None:
    here = town()
    carl = await member("carl", "coordinator", here)
    await signed_in(portal_on_synapse, carl)
    matrix_id = f"@fed{next(_towns)}:frivillig.example"
    volunteer_id = await pending_volunteer(database, here, "Fie Fed", matrix_id=matrix_id)
    page = await (await portal_on_synapse.get("/koordinator")).text()
    assert "deres egen konto på en anden server" in page
    response = await post_on_dashboard(
        portal_on_synapse, f"/koordinator/frivillige/{volunteer_id}/godkend"
    )
    assert response.headers["Location"] == "/koordinator"
    fie = await person_by_id(database, volunteer_id)
    assert fie is not None and fie.approval == "approved" and fie.matrix_id == matrix_id
    notice = await (await portal_on_synapse.get("/koordinator")).text()
    assert "Den frivillige er godkendt" in notice


async def test_turning_a_volunteer_down_needs_a_reason_and_keeps_it(
    portal_on_synapse: TestClient, database: Database, member
) -> None:
    here = town()
    carl = await member("carl", "coordinator", here)
    await signed_in(portal_on_synapse, carl)
    volunteer_id = await pending_volunteer(database, here, "Rolf Afvist")
    path = f"/koordinator/frivillige/{volunteer_id}/afvis"
    empty = await post_on_dashboard(portal_on_synapse, path, reason="  ")
    assert empty.status == 400
    page = await empty.text()
    assert f'id="reason-{volunteer_id}-error"' in page and "Skriv en kort begrundelse" in page
    assert (await person_by_id(database, volunteer_id)).approval == "pending"

    done = await post_on_dashboard(portal_on_synapse, path, reason="Ingen straffeattest endnu.")
    assert done.status == 303
    rolf = await person_by_id(database, volunteer_id)
    assert rolf.approval == "rejected" and rolf.rejection_reason == "Ingen straffeattest endnu."
    [line] = await audit_actions(database, action="volunteer_rejected", person_id=volunteer_id)
    assert "straffeattest" not in str(line.details)


async def test_a_decided_volunteer_cannot_be_decided_again(
    portal_on_synapse: TestClient, database: Database, member
) -> None:
    here = town()
    carl = await member("carl", "coordinator", here)
    await signed_in(portal_on_synapse, carl)
    volunteer_id = await pending_volunteer(database, here, "Dobbelt Klik")
    first = await post_on_dashboard(
        portal_on_synapse, f"/koordinator/frivillige/{volunteer_id}/afvis", reason="Nej tak."
    )
    assert first.status == 303
    second = await post_on_dashboard(
        portal_on_synapse, f"/koordinator/frivillige/{volunteer_id}/godkend"
    )
    assert second.status == 303 and second.headers["Location"] == "/koordinator"
    assert (await person_by_id(database, volunteer_id)).approval == "rejected"
    missing = await post_on_dashboard(portal_on_synapse, "/koordinator/frivillige/0/godkend")
    assert missing.status == 404


async def test_a_coordinator_decides_only_within_their_municipality(
    portal_on_synapse: TestClient, database: Database, member
) -> None:
    here, there = town(), town()
    carl = await member("carl", "coordinator", here)
    await signed_in(portal_on_synapse, carl)
    theirs = await pending_volunteer(database, there, "Anden Kommune")
    assert "Anden Kommune" not in await (await portal_on_synapse.get("/koordinator")).text()
    for action, data in (("godkend", {}), ("afvis", {"reason": "Nej."})):
        response = await post_on_dashboard(
            portal_on_synapse, f"/koordinator/frivillige/{theirs}/{action}", **data
        )
        assert response.status == 403
    assert (await person_by_id(database, theirs)).approval == "pending"


async def test_only_coordinators_see_the_dashboard_or_decide(
    synapse: SynapseHarness, database: Database, member
) -> None:
    volunteer_id = await pending_volunteer(database, None, "Ikke Din")
    for role, municipality in (("frontline", "Aarhus"), ("citizen", None), ("volunteer", None)):
        client = TestClient(TestServer(make_app(synapse.settings)))
        await client.start_server()
        try:
            await signed_in(client, await member(role, role, municipality))
            response = await client.get("/koordinator")
            assert response.status == 403, role
            token = token_in(await (await client.get("/mine-data")).text())
            for path in ("godkend", "afvis", "godkendt"):
                url = f"/koordinator/frivillige/{volunteer_id}/{path}"
                answer = await (
                    client.get(url)
                    if path == "godkendt"
                    else client.post(url, data={"csrf_token": token, "reason": "x"})
                )
                assert answer.status == 403, (role, path)
        finally:
            await client.close()
    assert (await person_by_id(database, volunteer_id)).approval == "pending"


async def test_while_synapse_is_unreachable_approval_changes_nothing(
    synapse: SynapseHarness, portal_on_synapse: TestClient, database: Database, member
) -> None:
    here = town()
    carl = await member("carl", "coordinator", here)
    await signed_in(portal_on_synapse, carl)
    volunteer_id = await pending_volunteer(database, here, "Tålmodig Frivillig")
    page = await (await portal_on_synapse.get("/koordinator")).text()
    admin = portal_on_synapse.app[SYNAPSE]
    real = admin.base_url
    admin.base_url = "http://127.0.0.1:9"
    try:
        response = await portal_on_synapse.post(
            f"/koordinator/frivillige/{volunteer_id}/godkend",
            data={"csrf_token": token_in(page)},
            allow_redirects=False,
        )
    finally:
        admin.base_url = real
    assert response.headers["Location"] == "/koordinator"
    after = await (await portal_on_synapse.get("/koordinator")).text()
    assert "kunne ikke få forbindelse til chatserveren" in after
    volunteer = await person_by_id(database, volunteer_id)
    assert volunteer.approval == "pending"
    assert await synapse.admin.get_user(volunteer.matrix_id) is None


async def test_the_dashboard_shows_who_waits_open_proposals_pairs_concerns_and_charts(
    portal_on_synapse: TestClient, database: Database, member
) -> None:
    here = town()
    carl = await member("carl", "coordinator", here)
    await signed_in(portal_on_synapse, carl)
    at = now()

    waiting = await add_person(
        database, role="citizen", display_name="Venter Vibeke", municipality=here, created_at=at
    )
    a = await add_person(
        database, role="citizen", display_name="Asta Forslag", municipality=here, created_at=at
    )
    b = await add_person(
        database, role="volunteer", display_name="Bo Forslag", municipality=here, created_at=at
    )
    c = await add_person(
        database, role="citizen", display_name="Cilla Par", municipality=here, created_at=at
    )
    d = await add_person(
        database, role="volunteer", display_name="Dan Par", municipality=here, created_at=at
    )
    async with database.session() as session:
        session.add(Proposal(a_id=a, b_id=b, score=3.5, state="asked", created_at=at))
        match = Match(
            a_id=c,
            b_id=d,
            state="introduced",
            created_at=at,
            introduced_at=at - timedelta(days=30),
            last_activity_at=at - timedelta(days=30),
        )
        session.add(match)
        await session.flush()
        session.add(
            Concern(reporter_id=c, match_id=match.id, text="Dan svarer aldrig.", created_at=at)
        )
        session.add(
            Booking(
                match_id=match.id,
                room_id="!room:connec.test",
                booked_by="@x:connec.test",
                starts_at=at - timedelta(weeks=3, minutes=5),
                weekly=True,
                state="confirmed",
                updated_at=at,
            )
        )
        for person_id in (a, b, c, d):
            session.add(
                WellbeingAnswer(
                    person_id=person_id, answered_at=at, companionship=2, left_out=2, isolated=3
                )
            )
    page = await (await portal_on_synapse.get("/koordinator")).text()
    waiting_part = page.split('id="waiting"')[1].split('id="proposals"')[0]
    assert "Venter Vibeke" in waiting_part
    assert "Asta Forslag" not in waiting_part and "Cilla Par" not in waiting_part
    assert "Asta Forslag &amp; Bo Forslag" in page and "Spurgt, venter på svar" in page
    assert ">3,5</td>" in page  # the proposal's score with a Danish decimal comma
    assert "Cilla Par &amp; Dan Par" in page and "stille længe" in page
    assert "Dan svarer aldrig." in page
    charts = page.split('id="charts"')[1]
    assert "Besøg pr. uge" in charts
    # Four wellbeing answers are too few to show: no month has data, and the chart says
    # so instead of drawing an empty line.
    assert charts.count('<svg class="chart') == 3
    wellbeing = charts.split("Ensomhed")[1]
    assert "Ingen data endnu." in wellbeing and "<svg" not in wellbeing and "7,0" not in charts

    async with database.session() as session:
        session.add(
            WellbeingAnswer(
                person_id=waiting, answered_at=at, companionship=1, left_out=2, isolated=2
            )
        )
    charts = (await (await portal_on_synapse.get("/koordinator")).text()).split('id="charts"')[1]
    assert "6,6" in charts  # (7 + 7 + 7 + 7 + 5) / 5, in Danish notation
    assert charts.count('<svg class="chart') == 4 and "færre end 5 svar" in charts
