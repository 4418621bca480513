"""A person tells the matchmaker, privately, that something worries them; the
coordinators hear it at once, and the person gets a receipt."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import select

from bots.matchmaker.bot import Matchmaker
from connec.db import Database
from connec.models import Concern, Dialogue, Match
from tests.bots.matchmaker.conftest import Inbox, audit_of, open_direct_room
from tests.harness import SynapseHarness

pytestmark = pytest.mark.synapse


async def _concerns_of(db: Database, person_id: int) -> list[Concern]:
    async with db.session() as session:
        return list(
            (
                await session.scalars(
                    select(Concern).where(Concern.reporter_id == person_id).order_by(Concern.id)
                )
            ).all()
        )


async def test_a_concern_reaches_the_coordinators_at_once_and_the_person_gets_a_receipt(
    synapse: SynapseHarness, start_bot, person, enrol, coordinators_room: Inbox, db: Database
) -> None:
    bot = await start_bot(Matchmaker())
    karen_client = await person("karen")
    direct = await open_direct_room(karen_client, bot.user_id)
    karen = await enrol("karen", "citizen", "Karen Jensen", matrix_id=karen_client.user_id)
    anna = await enrol("anna", "volunteer", "Anna Holm")
    visit_room = f"!visit-{secrets.token_hex(4)}:{synapse.server_name}"
    async with db.session() as session:
        match = Match(a_id=karen.id, b_id=anna.id, state="introduced", room_id=visit_room)
        session.add(match)

    await direct.say("!bekymring Anna har talt grimt til mig to gange")

    alert = await coordinators_room.message(bot.user_id, "Bekymring", "Karen Jensen")
    assert karen.matrix_id in alert.body and "borger" in alert.body
    assert f"Match {match.id} med Anna Holm" in alert.body and visit_room in alert.body
    assert "Anna har talt grimt til mig to gange" in alert.body

    receipt = await direct.message(bot.user_id, "Tak, fordi du fortalte mig det")
    assert "ikke givet videre til Anna Holm" in receipt.body and "112" in receipt.body

    [concern] = await _concerns_of(db, karen.id)
    assert concern.match_id == match.id and concern.state == "open"
    assert concern.text == "Anna har talt grimt til mig to gange"
    [raised] = await audit_of(db, "concern.raised", f"concern:{concern.id}")
    assert raised.actor == karen.matrix_id and "grimt" not in str(raised.details)
    assert await audit_of(db, "concern.alerted", f"concern:{concern.id}")


async def test_a_concern_in_english_gets_an_english_receipt(
    synapse: SynapseHarness, start_bot, person, enrol, coordinators_room: Inbox, db: Database
) -> None:
    bot = await start_bot(Matchmaker())
    john_client = await person("john")
    direct = await open_direct_room(john_client, bot.user_id)
    john = await enrol("john", "volunteer", "John Smith", matrix_id=john_client.user_id)

    await direct.say("!concern My citizen seems very low lately")
    # The coordinators read it in the deployment's language, Danish by default.
    alert = await coordinators_room.message(bot.user_id, "Bekymring", "John Smith")
    assert "ikke i et match" in alert.body and "My citizen seems very low lately" in alert.body
    await direct.message(bot.user_id, "Thank you for telling me", "call 112")
    [concern] = await _concerns_of(db, john.id)
    assert concern.match_id is None


async def test_a_bare_concern_asks_first_and_takes_the_next_message(
    synapse: SynapseHarness, start_bot, person, enrol, coordinators_room: Inbox, db: Database
) -> None:
    bot = await start_bot(Matchmaker())
    ella_client = await person("ella")
    direct = await open_direct_room(ella_client, bot.user_id)
    ella = await enrol("ella", "citizen", "Ella Olsen", matrix_id=ella_client.user_id)

    await direct.say("bekymring")  # no "!" needed between the two of us
    await direct.message(bot.user_id, "ked af at høre", "næste besked")
    async with db.session() as session:
        waiting = await session.scalar(select(Dialogue).where(Dialogue.matrix_id == ella.matrix_id))
    assert waiting is not None and waiting.kind == "concern"

    await direct.say("Jeg har ikke hørt fra min besøgsven i tre uger")
    alert = await coordinators_room.message(bot.user_id, "Bekymring", "Ella Olsen")
    assert "ikke hørt fra min besøgsven i tre uger" in alert.body
    await direct.message(bot.user_id, "Tak, fordi du fortalte mig det")
    [concern] = await _concerns_of(db, ella.id)
    assert concern.text == "Jeg har ikke hørt fra min besøgsven i tre uger"
    async with db.session() as session:
        gone = await session.scalar(select(Dialogue).where(Dialogue.matrix_id == ella.matrix_id))
    assert gone is None


async def test_a_concern_in_the_middle_of_intake_leaves_the_intake_where_it_was(
    synapse: SynapseHarness, start_bot, person, enrol, coordinators_room: Inbox, db: Database
) -> None:
    bot = await start_bot(Matchmaker())
    poul_client = await person("poul")
    direct = await open_direct_room(poul_client, bot.user_id)
    poul = await enrol(
        "poul", "citizen", "Poul Midtvejs", matrix_id=poul_client.user_id, profile_complete=False
    )
    intake = {"kind": "intake", "step": "interests", "answers": {"display_name": "Poul"}}
    async with db.session() as session:
        session.add(
            Dialogue(
                bot="matchmaker",
                matrix_id=poul.matrix_id,
                kind="intake",
                step="interests",
                data=intake,
            )
        )

    await direct.say("!bekymring")
    await direct.message(bot.user_id, "ked af at høre")
    await direct.say("Min nabo siger, at nogen har ringet og spurgt efter min kode")
    await coordinators_room.message(bot.user_id, "Bekymring", "Poul Midtvejs", "min kode")
    await direct.message(bot.user_id, "Tak, fordi du fortalte mig det")

    async with db.session() as session:
        row = await session.scalar(select(Dialogue).where(Dialogue.matrix_id == poul.matrix_id))
    assert row is not None
    assert (row.kind, row.step, row.data) == ("intake", "interests", intake)


async def test_no_lets_a_bare_concern_go_without_telling_anyone(
    synapse: SynapseHarness, start_bot, person, enrol, db: Database
) -> None:
    bot = await start_bot(Matchmaker())
    lone_client = await person("lone")
    direct = await open_direct_room(lone_client, bot.user_id)
    lone = await enrol("lone", "citizen", "Lone Fortryder", matrix_id=lone_client.user_id)

    await direct.say("!bekymring")
    await direct.message(bot.user_id, "ked af at høre")
    await direct.say("nej")
    await direct.message(bot.user_id, "ikke givet noget videre", "bekymring")
    assert await _concerns_of(db, lone.id) == []
    async with db.session() as session:
        assert (
            await session.scalar(select(Dialogue).where(Dialogue.matrix_id == lone.matrix_id))
            is None
        )
