"""Greeting people the matchmaker has not met yet: enrolled in the portal, approved
by a coordinator, or imported. They get a direct room and a welcome, once."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import or_, select

from bots.common.runtime import BotRuntime, txn_id
from bots.matchmaker import jobs
from connec.models import DirectRoom, Person, real_person
from connec.people import MATCHABLE_ROLES

WORKER = jobs.WELCOME
# Welcomes opened at once after a large import. Fewer than the visit rooms of a round
# (runtime.MAKING_AT_ONCE): an import can bring thousands, and people who already
# talk with the bot meanwhile must keep getting answers.
PARALLEL_WELCOMES = 8
log = logging.getLogger(__name__)


async def welcome_new_people(runtime: BotRuntime) -> None:
    async with runtime.db.session() as session:
        # A room only promised (the bot stopped while making it) is finished here.
        known = select(DirectRoom.matrix_id).where(
            DirectRoom.bot == "matchmaker", DirectRoom.room_id.is_not(None)
        )
        people = (
            await session.scalars(
                select(Person).where(
                    Person.role.in_(MATCHABLE_ROLES),
                    Person.state == "active",
                    or_(Person.role != "volunteer", Person.approval == "approved"),
                    Person.matrix_id.not_in(known),
                    real_person(),
                )
            )
        ).all()
    # After a large import, rooms are opened side by side.
    gate = asyncio.Semaphore(PARALLEL_WELCOMES)

    async def one(matrix_id: str) -> None:
        # Opening the room says welcome (see Matchmaker.on_direct_room_opened). One
        # person who cannot be reached (no account yet) holds up nobody else.
        async with gate:
            try:
                await runtime.ensure_direct_room(matrix_id)
            except Exception as error:
                log.warning(
                    "could not welcome",
                    extra={"bot": "matchmaker", "user_id": matrix_id, "error": str(error)},
                )

    await asyncio.gather(*(one(person.matrix_id) for person in people))
    # Someone on another server whose server was down when their room was made.
    await runtime.invite_into_direct_rooms()


async def say_welcome(runtime: BotRuntime, room_id: str, matrix_id: str) -> None:
    """The first words in a direct room the matchmaker opened, before anything else;
    they wait until the person has signed in somewhere."""
    await runtime.post(
        room_id,
        "welcome.html",
        await runtime.language_of(matrix_id),
        txn=txn_id("welcome", matrix_id),
        readers=[matrix_id],
        subjects=[matrix_id],
    )


async def on_start(runtime: BotRuntime) -> None:
    runtime.spawn_worker(WORKER, lambda: welcome_new_people(runtime), every_s=30)
