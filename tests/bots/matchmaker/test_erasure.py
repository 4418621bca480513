"""A citizen erases herself on *Mine data*, after a life in connec: nothing that names
or describes her stays readable, in connec's tables, in the bots' own messages, in
her media or in Synapse."""

from __future__ import annotations

import asyncio
import io
import secrets
from urllib.parse import quote

import nio
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bots.matchmaker import proposals
from bots.matchmaker.bot import Matchmaker
from connec.db import Database
from connec.models import Concern, DirectRoom, Match, Proposal
from connec.synapse_admin import SynapseError
from portal.app import make_app
from tests.bots.matchmaker.conftest import Inbox, join_invited_room
from tests.harness import Account, SynapseHarness, eventually
from tests.portal.helpers import sign_in, token_for
from tests.sweep import traces_of

pytestmark = pytest.mark.synapse

# A 1×1 PNG: her avatar.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


async def redacted(client: nio.AsyncClient, room_id: str, event_id: str) -> bool:
    """Whether an event reads as redacted to this client (no words left)."""
    response = await client.room_get_event(room_id, event_id)
    assert isinstance(response, nio.RoomGetEventResponse), response
    return isinstance(response.event, nio.RedactedEvent)


async def test_erasure_leaves_no_word_about_her_readable_anywhere(
    synapse: SynapseHarness, start_bot, coordinators_room: Inbox, db: Database, person, enrol
) -> None:
    tag = secrets.token_hex(3)
    name = f"Karen Glemt {tag}"
    karen_client = await person("karen", "Karen")
    vera_client = await person("vera", "Vera")
    karen = await enrol(
        "karen", "citizen", name, matrix_id=karen_client.user_id, interest_words=[f"roser {tag}"]
    )
    vera = await enrol("vera", "volunteer", f"Vera Frivillig {tag}", matrix_id=vera_client.user_id)
    # Her avatar, in the media repository.
    upload, _ = await karen_client.upload(
        io.BytesIO(PNG), content_type="image/png", filesize=len(PNG)
    )
    assert isinstance(upload, nio.UploadResponse), upload
    await karen_client.set_avatar(upload.content_uri)
    server, media_id = upload.content_uri.removeprefix("mxc://").split("/")
    bot = await start_bot(Matchmaker())

    # The matchmaker suggests the pair to the coordinators, by name.
    async with db.session() as session:
        proposal = Proposal(a_id=karen.id, b_id=vera.id, score=3.0, state="suggested")
        session.add(proposal)
    bot.runtime.wake("proposal delivery")
    suggestion = await coordinators_room.message(bot.user_id, f"Forslag {proposal.id}", name)
    # Someone with several friends worries about her: a concern without a match.
    async with db.session() as session:
        session.add(Concern(reporter_id=vera.id, text=f"Jeg er bekymret for {name}."))
    # Approved, asked, two yeses: a visit room with an ice-breaker naming her.
    coordinator_id = synapse.settings.user_id(synapse.settings.coordinator_localpart)
    await proposals.approve(bot.runtime, proposal.id, coordinator_id)
    karen_dm = await join_invited_room(karen_client)
    await karen_dm.message(bot.user_id, "Har du lyst til at mødes")
    vera_dm = await join_invited_room(vera_client)
    await vera_dm.message(bot.user_id, "Har du lyst til at mødes")
    await karen_dm.say("ja")
    await vera_dm.say("ja")

    async def introduced() -> Match | None:
        async with db.session() as session:
            match = await session.scalar(select(Match).where(Match.proposal_id == proposal.id))
        return match if match is not None and match.state == "introduced" else None

    match = await eventually(introduced, what="the visit room, introduced")
    assert match.room_id is not None
    visit = await join_invited_room(vera_client, match.room_id)
    ice_breaker = await visit.message(bot.user_id, "Karen")
    async with db.session() as session:
        direct_rooms = list(
            await session.scalars(
                select(DirectRoom.room_id).where(DirectRoom.matrix_id == karen.matrix_id)
            )
        )
    assert karen_dm.room_id in direct_rooms

    # Karen erases herself on Mine data.
    portal = TestClient(TestServer(make_app(synapse.settings)))
    await portal.start_server()
    try:
        account = Account(karen_client.user_id, karen_client.password, "", "")
        assert (await sign_in(portal, account)).status == 303
        token = await token_for(portal, "/mine-data")
        response = await portal.post(
            "/mine-data/slet",
            data={"csrf_token": token, "confirm": "yes"},
            allow_redirects=False,
        )
        assert response.status == 303, await response.text()
    finally:
        await portal.close()

    # What the bots said about her reads as redacted: the suggestion in the
    # coordinators' room, the ice-breaker in the visit room that stays Vera's.
    assert await redacted(coordinators_room.client, coordinators_room.room_id, suggestion.event_id)
    assert await redacted(vera_client, match.room_id, ice_breaker.event_id)
    # Her direct rooms with the bots are gone from Synapse, and her picture with them.
    for room_id in direct_rooms:
        with pytest.raises(SynapseError) as gone:
            await synapse.admin.admin("GET", f"/v1/rooms/{quote(room_id)}")
        assert gone.value.status == 404
    with pytest.raises(SynapseError) as no_media:
        await synapse.admin.admin("GET", f"/v1/media/{server}/{media_id}")
    assert no_media.value.status == 404
    user = await synapse.admin.get_user(karen.matrix_id)
    assert user is not None and user["deactivated"] is True and user["erased"] is True
    # Not a row of connec's tables, in any column, names her or holds her words.
    localpart = karen.matrix_id.removeprefix("@").split(":")[0]
    left = await asyncio.to_thread(
        traces_of, db.url, [karen.matrix_id, localpart, name, f"roser {tag}"]
    )
    assert left == [], f"after erasure, still in (table, column, row): {left}"
