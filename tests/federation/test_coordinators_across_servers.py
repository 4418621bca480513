"""The organisation's coordinator approves the organisation's own volunteers in the
municipality's coordinators' room; nobody on a server off the allow-list gets in."""

from __future__ import annotations

from pathlib import Path

import nio
import pytest

from connec.db import Database
from connec.staff import add_staff
from tests.bots.matchmaker.conftest import Inbox, add_person, join_invited_room
from tests.harness import SynapseHarness, sign_in

pytestmark = pytest.mark.synapse

BLOCKED = "@eve:blocked.example"
NOT_FEDERATED = "som connec ikke udveksler beskeder med"


async def test_the_organisations_coordinator_approves_its_own_volunteer_from_its_own_server(
    synapse: SynapseHarness,
    organisation: SynapseHarness,
    own_db: Database,
    own_matchmaker,
    tmp_path: Path,
) -> None:
    bot = await own_matchmaker()
    ib_account = await organisation.register("ib", displayname="Ib Koordinator")
    anna_account = await organisation.register("anna", displayname="Anna Holm")
    # What matching needs of Anna, as she gave it on the municipality's portal.
    await add_person(own_db, anna_account.user_id, "volunteer", "Anna Holm", approval="pending")

    # The municipality's operator makes Ib a coordinator: invited over federation.
    settings = synapse.settings.model_copy(update={"database_url": own_db.url})
    added = await add_staff(
        settings,
        display_name="Ib",
        role="coordinator",
        municipality=None,
        matrix_id=ib_account.user_id,
    )
    assert added.invited and added.password is None  # his account stays on his server

    ib = await sign_in(organisation.url, ib_account.user_id, ib_account.password, tmp_path / "ib")
    try:
        room = await join_invited_room(ib, synapse.facts["coordinators_room_id"])
        await room.sync()
        await room.say(f"!godkend {anna_account.user_id}")
        question = await room.message(bot.user_id, "Jeg vil:", "Anna Holm")
        await room.say("ja")
        await room.message(bot.user_id, "Anna Holm", "er godkendt")

        # Anna, on her own server, is greeted by the municipality's matchmaker.
        anna = await sign_in(
            organisation.url, anna_account.user_id, anna_account.password, tmp_path / "anna"
        )
        try:
            greeting = await join_invited_room(anna, timeout=60)
            await greeting.message(bot.user_id, "velkommen til connec", timeout=60)
        finally:
            await anna.close()
        assert question.sender == bot.user_id
    finally:
        await ib.room_leave(synapse.facts["coordinators_room_id"])
        await ib.close()


async def test_someone_on_a_server_off_the_allow_list_is_refused_in_words(
    synapse: SynapseHarness,
    own_db: Database,
    own_matchmaker,
    coordinators_room: Inbox,
    person,
) -> None:
    bot = await own_matchmaker()
    karen = await person("karen")
    await add_person(own_db, karen.user_id, "citizen", "Karen")
    # Eve signed up while her server was trusted; it is not any more.
    await add_person(own_db, BLOCKED, "volunteer", "Eve", approval="pending")

    command = await coordinators_room.say(f"!godkend {BLOCKED}")
    answer = await coordinators_room.message(bot.user_id, NOT_FEDERATED, "blocked.example")
    assert "Traceback" not in answer.body
    await coordinators_room.reaction(bot.user_id, command, "❌")

    command = await coordinators_room.say(f"!match {karen.user_id} {BLOCKED}")
    await coordinators_room.message(bot.user_id, NOT_FEDERATED, BLOCKED)
    await coordinators_room.reaction(bot.user_id, command, "❌")

    # The coordinators' room: the operator is told why, before anything is tried...
    with pytest.raises(ValueError, match="does not federate"):
        await add_staff(
            synapse.settings.model_copy(update={"database_url": own_db.url}),
            display_name="Eve",
            role="coordinator",
            municipality=None,
            matrix_id=BLOCKED,
        )
    # ...and Synapse itself refuses the invitation, whoever tries it.
    refused = await coordinators_room.client.room_invite(coordinators_room.room_id, BLOCKED)
    assert isinstance(refused, nio.RoomInviteError), refused
