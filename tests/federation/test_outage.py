"""The organisation's server is down for a minute: a proposal made, an answer given and
a reminder due meanwhile are all there when it is back, each once; someone the
matchmaker never wrote to before is invited into one room when their server is back."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bots.matchmaker.bot import Matchmaker
from bots.matchmaker.matching import run_round
from bots.scheduler.bot import Scheduler
from bots.scheduler.reminders import timer_of
from connec.clock import FrozenClock
from connec.db import Database
from connec.models import DirectRoom, Proposal
from tests.bots.conftest import RunningBot
from tests.bots.matchmaker.conftest import add_person
from tests.bots.scheduler.conftest import Inbox, say
from tests.federation.story import (
    COPENHAGEN,
    direct_room,
    introduced,
    read_as_history,
    start,
    story_settings,
    yesterday_at_ten,
)
from tests.harness import SynapseHarness

pytestmark = pytest.mark.synapse

OUTAGE = 60.0  # seconds the organisation's server is down


async def test_a_minute_without_the_organisations_server_loses_nothing(
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
    lis_client = await person("lis", "Lis Berg")
    ole_client = await person("ole", "Ole")
    anna_client = await person("anna", "Anna Holm", on=organisation)
    bo_client = await person("bo", "Bo", on=organisation)
    anna_id = anna_client.user_id
    karen = await add_person(own_db, karen_client.user_id, "citizen", "Karen Jensen")
    await add_person(own_db, anna_id, "volunteer", "Anna Holm", capacity=2)

    matchmaker = await start(synapse, bots, Matchmaker(), settings)
    clock = FrozenClock(yesterday_at_ten())
    scheduler = await start(synapse, bots, Scheduler(), settings, clock=clock)

    # Karen and Anna meet and book a visit, both servers up.
    await run_round(own_db, settings, datetime.now(UTC))
    matchmaker.runtime.wake("proposal delivery")
    anna_dm = Inbox(anna_client, matchmaker.user_id)
    for inbox in (Inbox(karen_client, matchmaker.user_id), anna_dm):
        await say(inbox.client, await direct_room(inbox, "Har du lyst til at mødes"), "ja")
    anna_direct = await direct_room(anna_dm, "Har du lyst til at mødes")
    room_id = (await introduced(own_db, karen, anna_id)).room_id
    assert room_id is not None
    await read_as_history(Inbox(anna_client, matchmaker.user_id), room_id, "Velkommen")
    karen_scheduler = Inbox(karen_client, scheduler.user_id)
    anna_scheduler = Inbox(anna_client, scheduler.user_id)
    await Inbox(karen_client, matchmaker.user_id).wait_text(room_id, "Velkommen")
    await say(karen_client, room_id, "!besøg i morgen kl 14")
    await anna_scheduler.wait_text(room_id, "foreslår et besøg")
    await say(anna_client, room_id, "ja")
    await karen_scheduler.wait_text(room_id, "er aftalt")

    # The organisation's server stops.
    went_down = time.monotonic()
    await asyncio.to_thread(organisation.halt)

    # Meanwhile the reminder falls due, a new citizen is proposed to Anna, and Lis
    # says yes; everything on the municipality's side goes on as usual.
    tomorrow = (clock.now().astimezone(COPENHAGEN) + timedelta(days=1)).date()
    at_two = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 14, tzinfo=COPENHAGEN)
    clock.set(at_two - timedelta(days=1, seconds=2))
    timer = timer_of(scheduler.runtime)
    assert timer is not None
    timer.clock_moved()
    await karen_scheduler.wait_text(room_id, "påmindelse om besøg")

    # Ole is proposed to Bo, a volunteer the matchmaker has never written to: his room
    # is made, his invitation waits for his server. It holds up nobody else's proposal.
    ole = await add_person(own_db, ole_client.user_id, "citizen", "Ole", interest_keys=["chess"])
    bo = await add_person(own_db, bo_client.user_id, "volunteer", "Bo", interest_keys=["chess"])
    async with own_db.session() as session:
        session.add(Proposal(a_id=ole.id, b_id=bo.id, score=1.0, reasons=[], state="asked"))
    lis = await add_person(own_db, lis_client.user_id, "citizen", "Lis Berg")
    await run_round(own_db, settings, datetime.now(UTC))
    matchmaker.runtime.wake("proposal delivery")
    ole_dm = Inbox(ole_client, matchmaker.user_id)
    await ole_dm.wait_text(await ole_dm.direct_room(), "Har du lyst til at mødes")
    lis_dm = Inbox(lis_client, matchmaker.user_id)
    lis_direct = await lis_dm.direct_room()
    await lis_dm.wait_text(lis_direct, "Anna", timeout=60)
    await say(lis_client, lis_direct, "ja")
    await lis_dm.wait_text(lis_direct, "så snart den anden også har svaret")

    await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - went_down)))
    await asyncio.to_thread(organisation.resume)
    came_back = time.monotonic()

    # Anna's phone syncs again: the reminder and the proposal are there, once each.
    await anna_scheduler.wait_text(room_id, "påmindelse om besøg", timeout=90)
    proposal = await anna_dm.wait_text(anna_direct, "Lis", timeout=90)
    caught_up = time.monotonic() - came_back
    assert "Har du lyst til at mødes" in proposal.body
    await say(anna_client, anna_direct, "ja")
    second_room = (await introduced(own_db, lis, anna_id)).room_id
    assert second_room is not None and second_room != room_id
    await read_as_history(Inbox(anna_client, matchmaker.user_id), second_room, "Velkommen")

    # Bo is invited into the one room made for him, and reads his proposal there.
    bo_dm = Inbox(bo_client, matchmaker.user_id)
    await direct_room(bo_dm, "Har du lyst til at mødes")
    async with own_db.session() as session:
        bo_rooms = (
            await session.scalars(select(DirectRoom).where(DirectRoom.matrix_id == bo.matrix_id))
        ).all()
    assert len(bo_rooms) == 1 and bo_dm.reader.invites == [bo_rooms[0].room_id]

    assert await anna_scheduler.count(room_id, "påmindelse om besøg", once=scheduler) == 1
    await anna_dm.reader.barrier(anna_direct)
    assert len([t for t in anna_dm.texts(anna_direct) if "Lis" in t.body]) == 1

    with capsys.disabled():
        print(
            f"\nfederation outage: organisation down {came_back - went_down:.0f} s; "
            f"the reminder and the proposal made meanwhile reached Anna {caught_up:.1f} s "
            "after it was back, once each; no answer lost"
        )
