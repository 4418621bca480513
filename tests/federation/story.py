"""Steps the federation stories share: people on two servers, the municipality's
bots on a story's own database, and a pair meeting in a visit room."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bots.common.runtime import BotRuntime
from connec.db import Database
from connec.models import Match, OutboxMessage, Person
from connec.settings import Settings
from tests.bots.conftest import RunningBot
from tests.bots.scheduler.conftest import Inbox
from tests.harness import SynapseHarness, eventually

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def story_settings(synapse: SynapseHarness, db: Database) -> Settings:
    """The municipality's settings on this story's own database, proposals sent at once."""
    return synapse.settings.model_copy(
        update={
            "database_url": db.url,
            "matching": synapse.settings.matching.model_copy(
                update={"requires_approval": False, "after_new_person_seconds": 0}
            ),
        }
    )


def yesterday_at_ten() -> datetime:
    """Yesterday at 10 in Copenhagen: "i morgen kl 14" is then always over a day ahead
    (and in the past, so nothing real looks older than a bot's own start)."""
    now = datetime.now(COPENHAGEN)
    return now.replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(days=1)


async def start(
    synapse: SynapseHarness, bots: list[RunningBot], bot: Any, settings: Settings, **kw: Any
) -> RunningBot:
    """One of the municipality's bots, on ``settings``; stopped by the ``bots`` fixture."""
    running = RunningBot(synapse, bot)
    running.runtime = BotRuntime(settings, bot, **kw)
    bots.append(await running.start())
    return running


async def waiting_for(db: Database, user_id: str) -> list[OutboxMessage]:
    """What the bots keep for ``user_id`` until they have a device."""
    async with db.session() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
    return [r for r in rows if r.state == "waiting" and user_id in (r.readers or [])]


async def introduced(db: Database, citizen: Person, volunteer_id: str) -> Match:
    """The match of these two once its room has its ice-breaker."""

    async def check() -> Match | None:
        async with db.session() as session:
            volunteer = await session.scalar(
                select(Person.id).where(Person.matrix_id == volunteer_id)
            )
            match = await session.scalar(
                select(Match).where(Match.a_id == citizen.id, Match.b_id == volunteer)
            )
        return match if match and match.state == "introduced" else None

    return await eventually(check, timeout=60, what="the visit room")


async def read_as_history(inbox: Inbox, room_id: str, words: str) -> None:
    """Join the room and read ``words`` in it, as Element does on opening it: a server
    that joined a room made on another server has what was said before as history."""

    async def check() -> bool:
        await inbox.sync()
        if room_id in inbox.reader.joined and room_id in inbox.client.rooms:
            await inbox.reader.open_room(room_id)
        return any(words in e.body for e in inbox.texts(room_id))

    await eventually(check, timeout=60, what=f"reading “{words}” in {room_id}")


def members_of(state: dict[str, Any]) -> dict[str, str]:
    return {
        e["state_key"]: e["content"]["membership"]
        for e in state["state"]
        if e["type"] == "m.room.member"
    }


async def direct_room(inbox: Inbox, words: str) -> str:
    """The direct room the bot opened, once ``words`` from it can be read there.

    Like :func:`read_as_history`: what the bot said before this person's server
    joined the room is read as history, as Element does."""

    async def check() -> str | None:
        await inbox.sync()
        for room_id in inbox.reader.joined:
            if room_id not in inbox.client.rooms:
                continue  # joined just now: the next sync brings it
            if not any(words in e.body for e in inbox.texts(room_id)):
                await inbox.reader.open_room(room_id)
            if any(words in e.body for e in inbox.texts(room_id)):
                return room_id
        return None

    return await eventually(check, timeout=60, what=f"a direct room with “{words}”")
