"""A citizen on the municipality's server and a volunteer on her organisation's own
server: proposed to each other by the municipality's matchmaker, both say yes, and
they meet in one visit room that spans both servers, with pictures and a booking."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bots.matchmaker.bot import Matchmaker
from bots.matchmaker.matching import run_round
from bots.scheduler.bot import Scheduler
from bots.scheduler.reminders import timer_of
from bots.scheduler.when_words import spell_out
from connec.clock import FrozenClock
from connec.db import Database
from tests.bots.conftest import RunningBot
from tests.bots.matchmaker.conftest import add_person
from tests.bots.scheduler.conftest import Inbox, say
from tests.federation.pictures import receive_picture, send_picture
from tests.federation.story import (
    COPENHAGEN,
    introduced,
    members_of,
    read_as_history,
    start,
    story_settings,
    waiting_for,
    yesterday_at_ten,
)
from tests.harness import SynapseHarness, eventually, sign_in

pytestmark = pytest.mark.synapse


async def test_a_citizen_and_an_organisations_volunteer_meet_in_one_room_across_servers(
    synapse: SynapseHarness,
    organisation: SynapseHarness,
    person,
    own_db: Database,
    bots: list[RunningBot],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = story_settings(synapse, own_db)
    karen_client = await person("karen", "Karen Jensen")
    # Anna's account is on her organisation's server; she has not signed in anywhere yet.
    anna_account = await organisation.register("anna", displayname="Anna Holm")
    anna_id = anna_account.user_id
    assert anna_id.endswith(":" + organisation.server_name)
    karen = await add_person(own_db, karen_client.user_id, "citizen", "Karen Jensen")
    await add_person(own_db, anna_id, "volunteer", "Anna Holm")

    matchmaker = await start(synapse, bots, Matchmaker(), settings)
    clock = FrozenClock(yesterday_at_ten())
    scheduler = await start(synapse, bots, Scheduler(), settings, clock=clock)

    await run_round(own_db, settings, datetime.now(UTC))
    matchmaker.runtime.wake("proposal delivery")
    karen_dm = Inbox(karen_client, matchmaker.user_id)
    karen_room = await karen_dm.direct_room()
    await karen_dm.wait_text(karen_room, "Har du lyst til at mødes")
    await say(karen_client, karen_room, "ja")

    # Over federation too, nothing is encrypted for Anna before she has a device: her
    # welcome and proposal wait, and go out when her server tells of her first device.
    assert await eventually(lambda: waiting_for(own_db, anna_id), what="Anna's messages waiting")
    anna_client = await sign_in(organisation.url, anna_id, anna_account.password, tmp_path / "anna")
    anna_dm = Inbox(anna_client, matchmaker.user_id)
    anna_room = await anna_dm.direct_room(timeout=60)
    await anna_dm.wait_text(anna_room, "Har du lyst til at mødes", timeout=60)
    second_yes = time.monotonic()
    await say(anna_client, anna_room, "ja")

    match = await introduced(own_db, karen, anna_id)
    room_id = match.room_id
    assert room_id is not None
    # The ice-breaker, readable on both sides (the Reader fails an unreadable one).
    await read_as_history(Inbox(anna_client, matchmaker.user_id), room_id, "Velkommen")
    room_ready = time.monotonic() - second_yes
    await Inbox(karen_client, matchmaker.user_id).wait_text(room_id, "Velkommen")

    # One room, made on the municipality's server, with both servers in it.
    state = await synapse.admin.admin("GET", f"/v1/rooms/{room_id}/state")
    by_type = {(e["type"], e["state_key"]): e["content"] for e in state["state"]}
    assert by_type[("m.room.encryption", "")]["algorithm"] == "m.megolm.v1.aes-sha2"
    assert by_type[("m.room.join_rules", "")]["join_rule"] == "invite"
    members = members_of(state)
    assert members[matchmaker.user_id] == members[scheduler.user_id] == "join"
    assert members[karen_client.user_id] == members[anna_id] == "join"
    # The organisation's server holds the room too, and sees the same members.
    there = await organisation.admin.admin("GET", f"/v1/rooms/{room_id}/state")
    assert members_of(there) == members

    # A message each way.
    karen_hears = Inbox(karen_client, anna_id)
    anna_hears = Inbox(anna_client, karen_client.user_id)
    sent = time.monotonic()
    await say(karen_client, room_id, "Hej Anna! Jeg har plantet tulipaner i dag.")
    await anna_hears.wait_text(room_id, "tulipaner")
    to_organisation = time.monotonic() - sent
    sent = time.monotonic()
    await say(anna_client, room_id, "Hvor dejligt, Karen! Hvilken farve?")
    await karen_hears.wait_text(room_id, "Hvilken farve")
    to_municipality = time.monotonic() - sent

    # A picture each way: encrypted, kept by the sender's server, fetched by the
    # reader's own server from the other's media repository.
    tulips = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    await send_picture(karen_client, room_id, tulips, "tulipaner.png")
    data, address = await receive_picture(anna_client, room_id, karen_client.user_id)
    assert data == tulips and address.startswith(f"mxc://{synapse.server_name}/")
    garden = b"\x89PNG\r\n\x1a\n" + bytes(reversed(range(256))) * 40
    await send_picture(anna_client, room_id, garden, "have.png")
    data, address = await receive_picture(karen_client, room_id, anna_id)
    assert data == garden and address.startswith(f"mxc://{organisation.server_name}/")

    # Anna books a visit; Karen says yes; both are reminded the day before.
    karen_scheduler = Inbox(karen_client, scheduler.user_id)
    anna_scheduler = Inbox(anna_client, scheduler.user_id)
    await say(anna_client, room_id, "!besøg i morgen kl 14")
    tomorrow = (clock.now().astimezone(COPENHAGEN) + timedelta(days=1)).date()
    at_two = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 14, tzinfo=COPENHAGEN)
    in_words = spell_out(at_two, "da")
    question = await karen_scheduler.wait_text(room_id, "foreslår et besøg")
    assert in_words in question.body
    await say(karen_client, room_id, "ja")
    confirmed = await anna_scheduler.wait_text(room_id, "er aftalt")
    assert in_words in confirmed.body

    clock.set(at_two - timedelta(days=1, seconds=2))
    timer = timer_of(scheduler.runtime)
    assert timer is not None
    timer.clock_moved()
    for inbox in (anna_scheduler, karen_scheduler):
        reminder = await inbox.wait_text(room_id, "påmindelse om besøg")
        assert in_words in reminder.body

    with capsys.disabled():
        print(
            f"\nfederation: second yes -> visit room with ice-breaker read across servers "
            f"{room_ready:.2f} s; message to the organisation {to_organisation * 1000:.0f} ms, "
            f"to the municipality {to_municipality * 1000:.0f} ms"
        )
