"""Two homeservers exchange messages over TLS federation on loopback."""

from __future__ import annotations

import nio
import pytest

from tests.bots.matchmaker.conftest import Inbox, join_invited_room
from tests.harness import SynapseHarness

pytestmark = pytest.mark.synapse


async def test_a_person_on_each_server_talks_in_one_room(
    synapse: SynapseHarness, organisation: SynapseHarness, person
) -> None:
    karen = await person("karen", "Karen")
    anna = await person("anna", "Anna", on=organisation)
    assert anna.user_id.endswith(":" + organisation.server_name)

    made = await karen.room_create(invite=[anna.user_id], is_direct=True)
    assert isinstance(made, nio.RoomCreateResponse), made
    anna_room = await join_invited_room(anna, made.room_id)
    karen_room = Inbox(karen, made.room_id)
    await karen_room.sync()

    await karen_room.say("Hej Anna, hvordan går det?")
    heard = await anna_room.message(karen.user_id, "hvordan går det")
    assert heard.sender == karen.user_id
    await anna_room.say("Godt, tak!")
    await karen_room.message(anna.user_id, "Godt, tak")
