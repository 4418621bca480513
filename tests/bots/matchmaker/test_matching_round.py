"""Stories of matching rounds in the running matchmaker: off its event loop, and one
person placed at once when they become free."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import nio
import pytest
from sqlalchemy import insert, select

from bots.matchmaker import matching
from connec.db import Database
from connec.models import AuditEntry, Person, Proposal
from tests.bots.conftest import RunningBot
from tests.bots.matchmaker.conftest import add_person
from tests.bots.matchmaker.test_intake import Chat
from tests.harness import SynapseHarness

pytestmark = pytest.mark.synapse

CROWD_CITIZENS = 4_000
CROWD_VOLUNTEERS = 1_200


async def a_crowd(db: Database) -> None:
    """Thousands of people nobody talks to, with profiles to score (no accounts needed:
    nobody fits well enough to be proposed, see the round's minimum score below)."""
    rng = random.Random(13)
    keys = ["jazz", "gardening", "knitting", "chess", "dogs", "beekeeping", "football", "baking"]
    rows = [
        {
            "matrix_id": f"@crowd{n}:crowd.invalid",
            "role": "citizen" if n < CROWD_CITIZENS else "volunteer",
            "display_name": f"Crowd {n}",
            "languages": ["da"],
            "interest_keys": rng.sample(keys, 3),
            "interest_words": [],
            "contact_modes": ["chat", "voice"],
            "availability": rng.sample(["mon-am", "tue-am", "wed-pm", "thu-pm", "sat-am"], 2),
            "birth_year": 1950,
            "profile_complete": True,
            "approval": "approved",
            "capacity": 2,
        }
        for n in range(CROWD_CITIZENS + CROWD_VOLUNTEERS)
    ]
    async with db.session() as session:
        await session.execute(insert(Person), rows)


async def test_people_keep_getting_answers_while_a_big_round_runs(
    own_db: Database,
    own_matchmaker: Callable[..., Awaitable[RunningBot]],
    person: Callable[..., Awaitable[nio.AsyncClient]],
) -> None:
    await a_crowd(own_db)
    bot = await own_matchmaker()
    # Every pair of the crowd is scored, and none is good enough to be proposed.
    runtime = bot.runtime
    runtime.settings = runtime.settings.model_copy(
        update={"matching": runtime.settings.matching.model_copy(update={"min_score": 1000.0})}
    )
    chat = await Chat.open(await person("signe"), bot.user_id)

    round_running = asyncio.ensure_future(matching.run_round_now(runtime))
    answered_during_round = 0
    while not round_running.done():
        await chat.say("hjælp", "Her er hvad jeg kan hjælpe med")
        answered_during_round += not round_running.done()
    result = await round_running

    assert answered_during_round >= 1
    assert result.considered == CROWD_CITIZENS + CROWD_VOLUNTEERS
    assert result.proposed == 0


async def test_a_person_who_comes_back_is_placed_at_once_or_told_the_search_goes_on(
    synapse: SynapseHarness,
    own_db: Database,
    own_matchmaker: Callable[..., Awaitable[RunningBot]],
    person: Callable[..., Awaitable[nio.AsyncClient]],
) -> None:
    # No full round soon after someone comes back: what happens is the placement alone.
    bot = await own_matchmaker(round_after_seconds=3600)
    vera_client = await person("vera")
    vera_chat = await Chat.open(vera_client, bot.user_id)
    vera = await add_person(own_db, vera_client.user_id, "volunteer", "Vera Frivillig")
    # A round with nobody to pair Vera with; the bot keeps its people for placing.
    first = await matching.run_round_now(bot.runtime)
    assert first.proposed == 0 and matching.snapshot_of(bot.runtime) is not None

    cecilie_client = await person("cecilie")
    cecilie_chat = await Chat.open(cecilie_client, bot.user_id)
    cecilie = await add_person(
        own_db, cecilie_client.user_id, "citizen", "Cecilie Tilbage", state="paused"
    )
    await cecilie_chat.say("fortsæt", "Velkommen tilbage")
    proposal_words = await cecilie_chat.expect("Vera")
    assert "jazz" in proposal_words  # the reasons, in words
    await vera_chat.expect("Cecilie")

    async with own_db.session() as session:
        proposals = (await session.scalars(select(Proposal))).all()
        placed = (
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == "matching_placement")
            )
        ).all()
    assert [(p.a_id, p.b_id, p.state) for p in proposals] == [(cecilie.id, vera.id, "asked")]
    assert [entry.details["person_id"] for entry in placed] == [cecilie.id]

    # Vera has room for one; the next citizen who comes back hears the search goes on.
    dorte_client = await person("dorte")
    dorte_chat = await Chat.open(dorte_client, bot.user_id)
    await add_person(own_db, dorte_client.user_id, "citizen", "Dorte Venter", state="paused")
    await dorte_chat.say("fortsæt", "Velkommen tilbage")
    await dorte_chat.expect("Vi leder stadig")
    async with own_db.session() as session:
        assert len((await session.scalars(select(Proposal))).all()) == 1
