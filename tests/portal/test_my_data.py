"""A signed-in person downloads what connec holds about them, and has it erased: in Synapse
(deactivated and erased) and in connec, leaving one audit line without personal data."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, or_, select

from connec.db import Database
from connec.models import (
    AuditEntry,
    Booking,
    Concern,
    Dialogue,
    DirectRoom,
    Match,
    Proposal,
    Reminder,
    WellbeingAnswer,
)
from portal.keys import SYNAPSE
from tests.harness import SynapseHarness
from tests.portal.helpers import Member, now, person_by_id, sign_in, signed_in, token_for

pytestmark = pytest.mark.synapse


async def with_a_life_in_connec(database: Database, karen: Member, friend: Member) -> int:
    """Give Karen a proposal, a pair with a weekly visit and a reminder, a concern, a
    wellbeing answer, a dialogue, a direct room and an audit line; answers the match's id."""
    at = now()
    async with database.session() as session:
        session.add(
            Proposal(a_id=karen.person_id, b_id=friend.person_id, score=2.0, state="accepted")
        )
        match = Match(a_id=karen.person_id, b_id=friend.person_id, state="introduced")
        session.add(match)
        await session.flush()
        booking = Booking(
            match_id=match.id,
            room_id=f"!visit{match.id}:connec.test",
            booked_by=karen.user_id,
            starts_at=at + timedelta(days=2),
            state="confirmed",
        )
        session.add(booking)
        await session.flush()
        session.add(
            Reminder(
                booking_id=booking.id,
                occurrence_at=booking.starts_at,
                kind="before",
                person_id=karen.person_id,
                due_at=booking.starts_at - timedelta(hours=1),
            )
        )
        session.add(
            Concern(reporter_id=karen.person_id, match_id=match.id, text="Karen er bekymret.")
        )
        session.add(
            WellbeingAnswer(
                person_id=karen.person_id, answered_at=at, companionship=2, left_out=1, isolated=1
            )
        )
        session.add(Dialogue(bot="matchmaker", matrix_id=karen.user_id, kind="intake", step="done"))
        session.add(
            DirectRoom(
                bot="matchmaker", matrix_id=karen.user_id, room_id=f"!dm{match.id}:connec.test"
            )
        )
        session.add(
            AuditEntry(
                actor="@frida:connec.test",
                action="citizen_enrolled",
                subject=karen.user_id,
                person_id=karen.person_id,
            )
        )
        return match.id


async def test_a_citizen_sees_and_downloads_what_connec_holds_about_them(
    portal_on_synapse: TestClient, database: Database, member
) -> None:
    karen = await member(
        "karen",
        "citizen",
        "Aarhus",
        display_name="Karen Data",
        interest_keys=["jazz"],
        interest_words=["Kim Larsen"],
        availability=["tue-am"],
        languages=["da"],
    )
    friend = await member("vera", "volunteer")
    await with_a_life_in_connec(database, karen, friend)
    await signed_in(portal_on_synapse, karen)
    page = await (await portal_on_synapse.get("/mine-data")).text()
    assert "Karen Data" in page and "Jazz, Kim Larsen" in page and "Tirsdag, formiddag" in page
    assert "Slet alt" in page

    response = await portal_on_synapse.get("/mine-data/download")
    assert response.status == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(await response.text())
    assert data["person"]["display_name"] == "Karen Data"
    assert data["matrix_id"] == karen.user_id
    assert len(data["proposals"]) == 1 and len(data["matches"]) == 1
    assert len(data["visits"]) == 1 and len(data["wellbeing_answers"]) == 1
    assert data["concerns_raised"][0]["text"] == "Karen er bekymret."
    assert data["history"][0]["action"] == "citizen_enrolled"
    assert "Vera" not in json.dumps(data)  # the other person's profile is theirs, not Karen's


async def test_erasure_closes_the_account_and_deletes_everything_but_an_anonymous_line(
    synapse: SynapseHarness, portal_on_synapse: TestClient, database: Database, member
) -> None:
    karen = await member("karen", "citizen", "Aarhus", display_name="Karen Slet")
    friend = await member("vera", "volunteer")
    match_id = await with_a_life_in_connec(database, karen, friend)
    await signed_in(portal_on_synapse, karen)

    token = await token_for(portal_on_synapse, "/mine-data")
    unconfirmed = await portal_on_synapse.post("/mine-data/slet", data={"csrf_token": token})
    assert unconfirmed.status == 400
    assert "Sæt kryds i feltet for at bekræfte" in await unconfirmed.text()
    assert await person_by_id(database, karen.person_id) is not None

    response = await portal_on_synapse.post(
        "/mine-data/slet", data={"csrf_token": token, "confirm": "yes"}, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == "/mine-data/slettet"
    erased_page = await (await portal_on_synapse.get("/mine-data/slettet")).text()
    assert "Dine data er slettet" in erased_page and "Log ud" not in erased_page

    account = await synapse.admin.get_user(karen.user_id)
    assert account is not None and account["deactivated"] and account.get("erased", True)
    assert await person_by_id(database, karen.person_id) is None
    assert await person_by_id(database, friend.person_id) is not None
    async with database.session() as session:
        for model, clause in (
            (Match, Match.id == match_id),
            (Booking, Booking.match_id == match_id),
            (Proposal, or_(Proposal.a_id == karen.person_id, Proposal.b_id == karen.person_id)),
            (Concern, Concern.match_id == match_id),
            (Reminder, Reminder.person_id == karen.person_id),
            (WellbeingAnswer, WellbeingAnswer.person_id == karen.person_id),
            (Dialogue, Dialogue.matrix_id == karen.user_id),
            (DirectRoom, DirectRoom.matrix_id == karen.user_id),
            (
                AuditEntry,
                or_(AuditEntry.subject == karen.user_id, AuditEntry.actor == karen.user_id),
            ),
        ):
            left = await session.scalar(select(func.count()).select_from(model).where(clause))
            assert left == 0, model.__name__
        erased = await session.scalar(
            select(AuditEntry)
            .where(AuditEntry.action == "erased")
            .order_by(AuditEntry.id.desc())
            .limit(1)
        )
    assert erased is not None
    assert erased.subject.startswith("erased-") and erased.person_id is None
    line = json.dumps([erased.actor, erased.subject, erased.details])
    assert "karen" not in line.lower() and "Slet" not in line

    # Signed out, and the account no longer signs in.
    assert (await portal_on_synapse.get("/mine-data", allow_redirects=False)).status == 303
    assert (await sign_in(portal_on_synapse, karen)).status == 400


async def test_while_synapse_is_unreachable_nothing_is_erased(
    synapse: SynapseHarness, portal_on_synapse: TestClient, database: Database, member
) -> None:
    karen = await member("karen", "citizen", "Aarhus")
    await signed_in(portal_on_synapse, karen)
    token = await token_for(portal_on_synapse, "/mine-data")
    admin = portal_on_synapse.app[SYNAPSE]
    real = admin.base_url
    admin.base_url = "http://127.0.0.1:9"
    try:
        response = await portal_on_synapse.post(
            "/mine-data/slet", data={"csrf_token": token, "confirm": "yes"}
        )
    finally:
        admin.base_url = real
    assert response.status == 503
    assert "så intet blev slettet" in await response.text()
    assert await person_by_id(database, karen.person_id) is not None
    assert not (await synapse.admin.get_user(karen.user_id))["deactivated"]


async def test_staff_cannot_erase_themselves_here(
    synapse: SynapseHarness, portal_on_synapse: TestClient, database: Database, member
) -> None:
    frida = await member("frida", "frontline", "Aarhus")
    await signed_in(portal_on_synapse, frida)
    page = await (await portal_on_synapse.get("/mine-data")).text()
    assert "Medarbejderkonti lukkes af connecs driftsansvarlige" in page
    response = await portal_on_synapse.post(
        "/mine-data/slet",
        data={"csrf_token": await token_for(portal_on_synapse, "/mine-data"), "confirm": "yes"},
    )
    assert response.status == 403
    assert await person_by_id(database, frida.person_id) is not None
    assert not (await synapse.admin.get_user(frida.user_id))["deactivated"]


async def test_my_data_needs_signing_in_and_erasure_a_form_token(
    portal_on_synapse: TestClient, database: Database, member
) -> None:
    for path in ("/mine-data", "/mine-data/download"):
        response = await portal_on_synapse.get(path, allow_redirects=False)
        assert response.headers["Location"] == f"/log-ind?next={path}"
    karen = await member("karen", "citizen", "Aarhus")
    await signed_in(portal_on_synapse, karen)
    response = await portal_on_synapse.post("/mine-data/slet", data={"confirm": "yes"})
    assert response.status == 403
    assert await person_by_id(database, karen.person_id) is not None


async def test_an_account_connec_knows_nothing_about_sees_just_that(
    synapse: SynapseHarness, portal_on_synapse: TestClient
) -> None:
    stranger = await synapse.register("stranger")
    assert (await sign_in(portal_on_synapse, stranger)).headers["Location"] == "/mine-data"
    page = await (await portal_on_synapse.get("/mine-data")).text()
    assert "connec har ingen profil om dig" in page and "Slet alt" not in page
    data = json.loads(await (await portal_on_synapse.get("/mine-data/download")).text())
    assert data["person"] is None
