"""A signed-in person downloads what connec holds about them, and has it erased: in Synapse
(deactivated and erased) and in connec, leaving one audit line without personal data."""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient

from connec.db import Database
from connec.models import (
    AuditEntry,
    Booking,
    CheckIn,
    Concern,
    Dialogue,
    DirectRoom,
    Match,
    PendingAction,
    Proposal,
    Reminder,
    WellbeingAnswer,
)
from portal.keys import SYNAPSE
from tests.harness import SynapseHarness
from tests.portal.helpers import (
    Member,
    audit_actions,
    now,
    person_by_id,
    sign_in,
    signed_in,
    token_for,
)
from tests.sweep import traces_of

pytestmark = pytest.mark.synapse


async def with_a_life_in_connec(
    database: Database, karen: Member, friend: Member, *, words: str = "Karen er bekymret."
) -> int:
    """Give Karen a proposal, a pair with a weekly visit, a reminder and a check-in, a
    concern, a wellbeing answer, a dialogue, a direct room and an audit line, her
    ``words`` in what she wrote herself; answers the match's id."""
    at = now()
    async with database.session() as session:
        session.add(
            Proposal(a_id=karen.person_id, b_id=friend.person_id, score=2.5, state="accepted")
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
            CheckIn(
                booking_id=booking.id,
                occurrence_at=booking.starts_at,
                person_id=karen.person_id,
                score=3,
                words=words,
            )
        )
        session.add(Concern(reporter_id=karen.person_id, match_id=match.id, text=words))
        session.add(
            WellbeingAnswer(
                person_id=karen.person_id, answered_at=at, companionship=2, left_out=1, isolated=1
            )
        )
        session.add(
            Dialogue(
                bot="matchmaker",
                matrix_id=karen.user_id,
                kind="intake",
                step="done",
                data={"interest_words": [words]},
            )
        )
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


async def audit_row(
    database: Database, action: str, subject: str | None = None, *, id: int | None = None
) -> AuditEntry:
    """The one audit line of ``action`` about ``subject`` (or with this ``id``)."""
    where = {"subject": subject} if id is None else {"id": id}
    [line] = await audit_actions(database, action=action, **where)
    return line


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


async def test_a_citizen_reads_their_data_in_danish_on_a_page_to_print(
    portal_on_synapse: TestClient, database: Database, member
) -> None:
    karen = await member(
        "karen",
        "citizen",
        "Aarhus",
        display_name="Karen Læser",
        interest_keys=["jazz"],
        contact_modes=["video"],
        availability=["tue-am"],
        languages=["da"],
    )
    friend = await member("vera", "volunteer")
    await with_a_life_in_connec(database, karen, friend)
    await signed_in(portal_on_synapse, karen)
    my_data = await (await portal_on_synapse.get("/mine-data")).text()
    assert 'href="/mine-data/oversigt"' in my_data and 'href="/mine-data/download"' in my_data
    # The user name as the welcome letter shows it, the server beside it.
    assert f'<dd class="code">{karen.localpart}</dd>' in my_data
    assert '<dd class="code">connec.test</dd>' in my_data

    response = await portal_on_synapse.get("/mine-data/oversigt")
    assert response.status == 200 and response.headers["Cache-Control"] == "no-store"
    page = await response.text()
    assert "Karen Læser" in page and f'<dd class="code">{karen.localpart}</dd>' in page
    assert "Videoopkald" in page and "Tirsdag, formiddag" in page
    assert "I sagde begge ja" in page and "Dit svar: ikke svaret" in page
    assert "beregning: 2,5." in page  # a Danish decimal comma, not 2.5
    assert "Aftalt" in page and "Karen er bekymret." in page
    assert "mangler selskab 2, føler dig udenfor 1" in page
    assert "Du blev tilmeldt" in page
    # connec's own codes never show: only words.
    for code in ("citizen_enrolled", "interest_keys", "introduced", "confirmed", "2.5"):
        assert code not in page
    assert "Udskriv, eller gem som PDF" in page and "/static/print.js" in page


async def erase_herself(portal: TestClient) -> None:
    """The signed-in person ticks the box and asks for everything to be erased."""
    token = await token_for(portal, "/mine-data")
    response = await portal.post(
        "/mine-data/slet", data={"csrf_token": token, "confirm": "yes"}, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == "/mine-data/slettet"


async def test_erasure_closes_the_account_and_deletes_everything_but_an_anonymous_line(
    synapse: SynapseHarness, portal_on_synapse: TestClient, database: Database, member
) -> None:
    tag = secrets.token_hex(3)
    own_words = f"gamle Morris Minor-biler {tag}"
    karen = await member(
        "karen",
        "citizen",
        "Aarhus",
        display_name=f"Karen Slet {tag}",
        interest_words=[own_words],
        about=f"Jeg har været sygeplejerske {tag}",
    )
    friend = await member("vera", "volunteer")
    await with_a_life_in_connec(database, karen, friend, words=own_words)
    needles = [karen.user_id, karen.localpart, f"Karen Slet {tag}", own_words, tag]
    assert await asyncio.to_thread(traces_of, database.url, needles)  # the sweep sees her
    enrolled = await audit_row(database, "citizen_enrolled", karen.user_id)
    await signed_in(portal_on_synapse, karen)

    token = await token_for(portal_on_synapse, "/mine-data")
    unconfirmed = await portal_on_synapse.post("/mine-data/slet", data={"csrf_token": token})
    assert unconfirmed.status == 400
    assert "Sæt kryds i feltet for at bekræfte" in await unconfirmed.text()
    assert await person_by_id(database, karen.person_id) is not None

    await erase_herself(portal_on_synapse)
    erased_page = await (await portal_on_synapse.get("/mine-data/slettet")).text()
    assert "Dine data er slettet" in erased_page and "Log ud" not in erased_page

    account = await synapse.admin.get_user(karen.user_id)
    assert account is not None and account["deactivated"] is True and account["erased"] is True
    assert await person_by_id(database, friend.person_id) is not None
    # Not a row of any table, in any text or JSON column, names her or holds her words.
    left = await asyncio.to_thread(traces_of, database.url, needles)
    assert left == [], f"after erasure, still in (table, column, row): {left}"

    # Her old audit lines now carry the erasure's random reference; the erasure's own
    # line carries the same one, so this is the line of this erasure.
    anonymous = await audit_row(database, "citizen_enrolled", id=enrolled.id)
    assert anonymous.subject is not None and anonymous.subject.startswith("erased-")
    assert anonymous.person_id is None and anonymous.details == {}
    [erased] = await audit_actions(database, action="erased", subject=anonymous.subject)
    assert erased.person_id is None
    assert erased.details == {"requested_by": "the person", "role": "citizen"}

    # Signed out, and the account no longer signs in.
    assert (await portal_on_synapse.get("/mine-data", allow_redirects=False)).status == 303
    assert (await sign_in(portal_on_synapse, karen)).status == 400


async def test_erasure_also_reaches_what_others_wrote_about_her(
    portal_on_synapse: TestClient, database: Database, member
) -> None:
    tag = secrets.token_hex(3)
    name = f"Karen Glemt {tag}"
    karen = await member("karen", "citizen", "Aarhus", display_name=name)
    friend = await member("vera", "volunteer")
    coordinator = await member("coco", "coordinator", "Aarhus")
    async with database.session() as session:
        # A volunteer with more than one match raises a concern about her: no match_id.
        session.add(Concern(reporter_id=friend.person_id, text=f"Jeg er bekymret for {name}."))
        # A coordinator's "!pause-person" about her, waiting for its yes.
        session.add(
            PendingAction(
                bot="matchmaker",
                room_id="!coordinators:connec.test",
                command_event_id=f"$pause-{tag}",
                requested_by=coordinator.user_id,
                action="pause-person",
                params={"subject": karen.user_id, "person_id": karen.person_id, "lang": "da"},
            )
        )
    await signed_in(portal_on_synapse, karen)
    await erase_herself(portal_on_synapse)
    assert await person_by_id(database, karen.person_id) is None
    left = await asyncio.to_thread(traces_of, database.url, [karen.user_id, karen.localpart, name])
    assert left == [], f"after erasure, still in (table, column, row): {left}"


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
