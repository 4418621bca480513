"""Stories of a person looking at and changing what the matchmaker knows about them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bots.matchmaker.bot import Matchmaker
from connec.db import Database
from connec.models import Person
from tests.bots.matchmaker.test_intake import Chat, audits, stored
from tests.harness import SynapseHarness

pytestmark = pytest.mark.synapse


@pytest.fixture
async def enrolled(
    person, start_bot, enrol: Callable[..., Awaitable[Person]]
) -> Callable[..., Awaitable[Chat]]:
    """Someone enrolled on the portal (a complete profile), in their direct room."""

    async def make(name: str, role: str = "citizen", **profile: object) -> Chat:
        bot = await start_bot(Matchmaker())
        client = await person(name)
        # The room first: the matchmaker opens a room itself for an enrolled person
        # it has not met, and one room is what a person has.
        chat = await Chat.open(client, bot.user_id)
        await enrol(name, role, matrix_id=client.user_id, **profile)
        return chat

    return make


async def test_a_person_sees_their_profile_and_changes_one_part(
    db: Database, enrolled: Callable[..., Awaitable[Chat]]
) -> None:
    chat = await enrolled("bodil")
    shown = await chat.say("profil", "Det her ved jeg om dig, Bodil:")
    assert "Interesser: jazz og havearbejde" in shown
    assert "Tid til en snak: tirsdag formiddag; torsdag eftermiddag" in shown
    assert "Køn: ikke fortalt" in shown

    parts = await chat.say("ret", "Hvilken del vil du gerne ændre?")
    assert "tider – Tid til en snak" in parts and "antal" not in parts
    asked = await chat.say("!ret tider", "Hvornår har du som regel tid")
    assert "Det har jeg nu: tirsdag formiddag; torsdag eftermiddag" in asked
    assert "Spørgsmål" not in asked
    saved = await chat.say("weekend", "Tak, det har jeg gemt")
    assert "Tid til en snak: lørdag hele dagen; søndag hele dagen" in saved

    # Mid-question, "sprog" is an interest, not the language command.
    await chat.say("ret interesser", "Hvad kan du lide at lave")
    saved = await chat.say("sprog, historie", "Tak, det har jeg gemt")
    assert "Interesser: historie og sprog" in saved

    await chat.say("ret navn", "Hvad vil du gerne kaldes?")
    await chat.say("stop", "intet er ændret")
    await chat.say("ret antal", "Jeg kender ikke en del, der hedder “antal”")

    bodil = await stored(db, chat.user_id)
    assert bodil is not None and bodil.display_name == "Bodil" and bodil.language == "da"
    assert bodil.availability == ["sat-am", "sat-pm", "sat-eve", "sun-am", "sun-pm", "sun-eve"]
    assert bodil.interest_keys == [] and bodil.interest_words == ["sprog", "historie"]
    assert await audits(db, chat.user_id) == ["profile_edited", "profile_edited"]


async def test_pause_stops_new_proposals_until_the_person_resumes(
    db: Database, enrolled: Callable[..., Awaitable[Chat]]
) -> None:
    chat = await enrolled("erik")
    paused = await chat.say("pause", "du holder pause")
    assert "Besøgsvenner, du allerede har" in paused
    assert (await stored(db, chat.user_id)).state == "paused"  # type: ignore[union-attr]
    await chat.say("!profil", "Du holder pause, så du får ingen nye forslag")
    await chat.say("fortsæt", "Velkommen tilbage! Nu leder jeg efter forslag til dig igen")
    assert (await stored(db, chat.user_id)).state == "active"  # type: ignore[union-attr]
    assert await audits(db, chat.user_id) == ["person_paused", "person_resumed"]


async def test_a_pending_volunteer_is_told_why_resuming_is_not_enough(
    enrolled: Callable[..., Awaitable[Chat]],
) -> None:
    chat = await enrolled("vera", "volunteer", approval="pending", state="paused")
    resumed = await chat.say("resume", "I will look for proposals for you again")
    assert "has not approved you as a volunteer yet" in resumed


async def test_a_person_switches_to_english_and_back(
    db: Database, enrolled: Callable[..., Awaitable[Chat]]
) -> None:
    chat = await enrolled("john")
    await chat.say("sprog", "Skriv sprog dansk eller sprog english")
    await chat.say("sprog klingon", "Jeg taler desværre ikke “klingon”")
    await chat.say("sprog english", "From now on I will write to you in English.")
    await chat.say("profile", "This is what I know about you, John:")
    await chat.say("hello", "Write help")
    await chat.say("language dansk", "Fra nu af skriver jeg til dig på dansk.")
    john = await stored(db, chat.user_id)
    assert john is not None and john.language == "da"


async def test_someone_the_matchmaker_does_not_know_is_invited_to_start(
    synapse: SynapseHarness, person, start_bot
) -> None:
    bot = await start_bot(Matchmaker())
    chat = await Chat.open(await person("ny"), bot.user_id)
    await chat.say("profil", "Du har ikke fortalt mig om dig selv endnu")
    await chat.say("pause", "Skriv start for at begynde")
    await chat.say("ret", "Du har ikke fortalt mig om dig selv endnu")
    await chat.say("tilbage", "Vi er ikke i gang med nogen spørgsmål lige nu")
