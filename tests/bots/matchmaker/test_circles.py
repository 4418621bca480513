"""Circles, told as stories against the real Synapse: people waiting for a friend are
offered a circle with a host who offered a topic; the room is made when the host and
two members said yes; the host books a weekly gathering and everyone is reminded
once; a member leaves, the host hands over, and a coordinator closes it kindly."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import nio
import pytest
from sqlalchemy import func, select

from bots.common.runtime import BotRuntime
from bots.matchmaker import circles
from bots.matchmaker.bot import Matchmaker
from bots.scheduler.bot import Scheduler
from bots.scheduler.reminders import SENT, timer_of
from connec.clock import FrozenClock
from connec.db import Database
from connec.models import (
    Booking,
    Circle,
    CircleMember,
    CircleWish,
    Person,
    Reminder,
    WellbeingAnswer,
)
from tests.bots.conftest import RunningBot
from tests.bots.matchmaker.conftest import Inbox, add_person, join_invited_room
from tests.harness import SynapseHarness, eventually

pytestmark = pytest.mark.synapse

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


@dataclass
class People:
    host: nio.AsyncClient
    members: dict[str, nio.AsyncClient]
    rows: dict[str, Person]


async def gardeners(
    person: Callable[..., Awaitable[nio.AsyncClient]],
    db: Database,
    names: tuple[str, ...],
    *,
    zones: dict[str, str] | None = None,
) -> People:
    """A retired gardener who offered to host "Kolonihaven", and citizens waiting for a
    friend who love gardening (none of them has a visiting friend)."""
    host = await person("birthe", "Birthe Have")
    rows = {
        "birthe": await add_person(
            db, host.user_id, "citizen", "Birthe Have", interest_keys=["gardening"]
        )
    }
    members = {}
    for name in names:
        client = await person(name, name.capitalize())
        members[name] = client
        rows[name] = await add_person(
            db,
            client.user_id,
            "citizen",
            f"{name.capitalize()} Jensen",
            interest_keys=["gardening", "jazz"],
            timezone=(zones or {}).get(name, "Europe/Copenhagen"),
        )
    async with db.session() as session:
        session.add(CircleWish(person_id=rows["birthe"].id, kind="host", topic="Kolonihaven"))
    return People(host, members, rows)


async def the_circle(db: Database) -> Circle:
    async with db.session() as session:
        [circle] = (await session.scalars(select(Circle))).all()
    return circle


async def state_of(db: Database, circle_id: int) -> str:
    async with db.session() as session:
        circle = await session.get(Circle, circle_id)
    assert circle is not None
    return circle.state


async def asked(client: nio.AsyncClient, bot_id: str, words: str) -> tuple[Inbox, Any]:
    """The person's direct room with the matchmaker, and the circle question in it."""
    direct = await join_invited_room(client)
    return direct, await direct.message(bot_id, words, timeout=60)


async def circle_with_room(
    people: People, bot: RunningBot, db: Database
) -> tuple[Circle, dict[str, Inbox], dict[str, Inbox]]:
    """Everyone says yes (the host too); answers the circle, direct rooms, circle rooms."""
    direct: dict[str, Inbox] = {}
    inside: dict[str, Inbox] = {}
    for name, client in [("birthe", people.host), *people.members.items()]:
        words = "vært for en lille cirkel" if name == "birthe" else "være med i en lille cirkel"
        direct[name], _ = await asked(client, bot.user_id, words)
        await direct[name].say("ja")
        await direct[name].message(bot.user_id, "Dejligt")
    circle = await eventually(
        lambda: _introduced(db), timeout=60, what="the circle's room and welcome"
    )
    for name, client in [("birthe", people.host), *people.members.items()]:
        inside[name] = await join_invited_room(client, circle.room_id)
        await inside[name].sync()
    await inside["birthe"].message(bot.user_id, "Velkommen i cirklen om", timeout=60)
    return circle, direct, inside


async def _introduced(db: Database) -> Circle | None:
    circle = await the_circle(db)
    return circle if circle.state == circles.INTRODUCED else None


async def members_of(synapse: SynapseHarness, room_id: str) -> dict[str, str]:
    """Who is in the room and how: join, invite, leave."""
    state = await synapse.admin.admin("GET", f"/v1/rooms/{quote(room_id)}/state")
    return {
        e["state_key"]: e["content"]["membership"]
        for e in state["state"]
        if e["type"] == "m.room.member"
    }


async def test_a_waiting_citizen_is_offered_a_circle_made_after_the_host_and_two_yes(
    synapse: SynapseHarness, person, own_db: Database, own_matchmaker, coordinators_room: Inbox
) -> None:
    people = await gardeners(person, own_db, ("karen", "ole", "inger"))
    bot = await own_matchmaker()  # forming runs at start: one circle, host and three asked
    circle = await eventually(lambda: _any_circle(own_db), what="a circle formed")
    assert circle.topic == "Kolonihaven" and circle.state == circles.ASKING

    host, host_question = await asked(people.host, bot.user_id, "vært for en lille cirkel")
    assert "Kolonihaven" in host_question.body and "3" in host_question.body
    karen, question = await asked(
        people.members["karen"], bot.user_id, "være med i en lille cirkel"
    )
    assert "Birthe" in question.body and "Ingen får at vide, hvis du siger nej" in question.body
    ole, _ = await asked(people.members["ole"], bot.user_id, "være med i en lille cirkel")
    inger, inger_question = await asked(
        people.members["inger"], bot.user_id, "være med i en lille cirkel"
    )

    await karen.say("ja")
    await karen.message(bot.user_id, "så snart nok har sagt ja")
    await host.say("ja")
    await host.message(bot.user_id, "Dejligt")
    await ole.say("nej")
    await ole.message(bot.user_id, "Det er helt i orden")
    # The host and one member: not yet a circle.
    assert await state_of(own_db, circle.id) == circles.ASKING

    await inger.react(inger_question.event_id, "👍")  # the second member's yes
    await inger.message(bot.user_id, "bliver til")
    made = await eventually(lambda: _introduced(own_db), timeout=60, what="the circle's room")
    assert made.room_id is not None
    room = await join_invited_room(people.members["karen"], made.room_id)
    welcome = await room.message(bot.user_id, "Velkommen i cirklen om Kolonihaven", timeout=60)
    assert "Birthe er jeres vært" in welcome.body
    assert "Ole" not in welcome.body  # nobody learns who said no

    # Private, encrypted, invite-only, both bots in it; Ole was never invited.
    state = await synapse.admin.admin("GET", f"/v1/rooms/{quote(made.room_id)}/state")
    by_type = {e["type"]: e["content"] for e in state["state"] if e["state_key"] == ""}
    assert by_type["m.room.join_rules"]["join_rule"] == "invite"
    assert by_type["m.room.encryption"]["algorithm"] == "m.megolm.v1.aes-sha2"
    membership = await members_of(synapse, made.room_id)
    scheduler = synapse.settings.user_id(synapse.settings.scheduler.localpart)
    assert membership[bot.user_id] == "join" and membership[scheduler] in ("invite", "join")
    assert people.members["ole"].user_id not in membership
    assert {people.host.user_id, people.members["inger"].user_id} <= set(membership)
    async with own_db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Circle)) == 1

    # Inger leaves with one word in the circle: thanked privately, the circle told kindly.
    inger_room = await join_invited_room(people.members["inger"], made.room_id)
    await inger_room.sync()
    await inger_room.say("!forlad")
    await inger.message(bot.user_id, "Du har forladt cirklen om Kolonihaven")
    await room.message(bot.user_id, "Inger har forladt cirklen")
    await eventually(
        lambda: _membership_is(synapse, made.room_id, people.members["inger"].user_id, "leave"),
        what="Inger out of the room",
    )

    # The host hands the circle to Karen.
    host_room = await join_invited_room(people.host, made.room_id)
    await host_room.sync()
    await host_room.say("!overdrag Karen")
    await room.message(bot.user_id, "Karen er nu vært for cirklen")
    async with own_db.session() as session:
        roles = dict(
            (
                await session.execute(
                    select(Person.display_name, CircleMember.role)
                    .join(Person, Person.id == CircleMember.person_id)
                    .where(CircleMember.circle_id == made.id, CircleMember.state == circles.YES)
                )
            ).all()
        )
    assert roles == {"Birthe Have": circles.MEMBER, "Karen Jensen": circles.HOST}

    # A coordinator lists the circles, then closes this one kindly.
    await coordinators_room.say("!cirkler")
    listing = await coordinators_room.message(bot.user_id, f"Cirkel {made.id}")
    assert "Kolonihaven" in listing.body and "Karen" in listing.body
    await coordinators_room.say(f"!luk-cirkel {made.id}")
    await coordinators_room.message(bot.user_id, "Afslutte cirkel")
    await coordinators_room.say("ja")
    await coordinators_room.message(bot.user_id, f"Cirkel {made.id} er afsluttet")
    await room.message(bot.user_id, "Cirklen om Kolonihaven slutter nu")
    await karen.message(bot.user_id, "Cirklen om Kolonihaven er slut")
    assert await state_of(own_db, made.id) == circles.CLOSED


async def _any_circle(db: Database) -> Circle | None:
    async with db.session() as session:
        return await session.scalar(select(Circle))


async def _membership_is(synapse: SynapseHarness, room_id: str, user: str, what: str) -> bool:
    return (await members_of(synapse, room_id)).get(user) == what


async def test_a_crash_after_the_room_was_made_finds_it_again_instead_of_a_second(
    synapse: SynapseHarness, person, own_db: Database, own_matchmaker
) -> None:
    people = await gardeners(person, own_db, ("hanne", "mads"))
    bot = await own_matchmaker()
    circle = await eventually(lambda: _any_circle(own_db), what="a circle formed")
    # Ready, as after the second yes; the room is made, then the bot "crashes" before
    # storing its ID (the token was stored first).
    async with own_db.session() as session:
        row = await session.get(Circle, circle.id)
        assert row is not None
        row.state = circles.READY
        row.room_txn = "token-before-the-crash"
        for member in (await session.scalars(select(CircleMember))).all():
            member.state = circles.YES
    await bot.kill()
    runtime = BotRuntime(bot.runtime.settings, Matchmaker())
    runtime.client = await runtime._login()
    try:
        response = await runtime.client.room_create(
            initial_state=[
                {
                    "type": circles.MARKER,
                    "state_key": "",
                    "content": {"circle_id": circle.id, "token": "token-before-the-crash"},
                }
            ]
        )
        assert isinstance(response, nio.RoomCreateResponse)
    finally:
        await runtime.client.close()
        await runtime.db.close()
    await own_matchmaker()
    made = await eventually(lambda: _introduced(own_db), timeout=60, what="the circle going on")
    assert made.room_id == response.room_id  # found again, not made twice
    membership = await members_of(synapse, made.room_id)
    assert people.members["hanne"].user_id in membership


async def test_the_host_books_a_weekly_gathering_and_everyone_is_reminded_once_in_own_time(
    synapse: SynapseHarness, person, own_db: Database, own_matchmaker, start_bot
) -> None:
    people = await gardeners(
        person, own_db, ("lis", "aage", "jens"), zones={"jens": "America/New_York"}
    )
    bot = await own_matchmaker()
    clock = FrozenClock(datetime(2026, 11, 30, 10, 0, tzinfo=COPENHAGEN))  # a Monday
    settings = bot.runtime.settings
    scheduler = await start_bot(Scheduler(), clock, settings)
    circle, _direct, inside = await circle_with_room(people, bot, own_db)

    # Only the host books; a member is told kindly who does.
    await inside["lis"].say("!samling hver onsdag kl 10")
    await inside["lis"].message(scheduler.user_id, "Værten, Birthe, booker cirklens samlinger")

    await inside["birthe"].say("!samling hver tirsdag kl 14")
    booked = await inside["lis"].message(scheduler.user_id, "samles hver uge", timeout=60)
    # Jens abroad reads his own clock; the others Copenhagen's.
    assert "America/New_York" in booked.body and "kl. 14.00" in booked.body
    assert "8.00" in booked.body or "08.00" in booked.body
    assert set(booked.source["content"]["m.mentions"]["user_ids"]) == {
        c.user_id for c in [people.host, *people.members.values()]
    }

    async def calendar_file() -> Any:
        await inside["aage"].sync()
        files = [
            e
            for e in inside["aage"].reader.log
            if e.room_id == circle.room_id
            and e.event.sender == scheduler.user_id
            and getattr(e.event, "body", "").endswith(".ics")
        ]
        return files or None

    [ics] = await eventually(calendar_file, what="the gathering's calendar file")
    assert ics.event.body.startswith("samling-")

    async with own_db.session() as session:
        [booking] = (await session.scalars(select(Booking))).all()
    assert booking.circle_id == circle.id and booking.match_id is None and booking.weekly

    # The day before at 14:00, and 15 minutes before: one message each, for everyone.
    timer = timer_of(scheduler.runtime)
    assert timer is not None
    first = datetime(2026, 12, 1, 14, 0, tzinfo=COPENHAGEN)
    for due, words in (
        (first - timedelta(days=1), f"påmindelse om samling {booking.id}"),
        (first - timedelta(minutes=15), "begynder om 15 minutter"),
    ):
        clock.set(due - timedelta(seconds=1))
        timer.clock_moved()
        reminder = await inside["jens"].message(scheduler.user_id, words, timeout=60)
        assert set(reminder.source["content"]["m.mentions"]["user_ids"]) == {
            c.user_id for c in [people.host, *people.members.values()]
        }

    async def sent_once() -> list[Reminder] | None:
        async with own_db.session() as session:
            rows = (
                await session.scalars(select(Reminder).where(Reminder.booking_id == booking.id))
            ).all()
        due = [r for r in rows if r.occurrence_at == first.astimezone(r.occurrence_at.tzinfo)]
        return list(rows) if due and all(r.state == SENT for r in due) else None

    rows = await eventually(sent_once, what="both reminders marked sent")
    assert {r.kind for r in rows} == {"before"}  # a circle has no check-ins per person
    await inside["aage"].sync()
    for words in (f"påmindelse om samling {booking.id}", "begynder om 15 minutter"):
        assert len(inside["aage"].received(scheduler.user_id, words)) == 1

    # The host calls the weekly gathering off: nothing more is reminded.
    await inside["birthe"].say(f"!samling aflys {booking.id}")
    await inside["aage"].message(
        scheduler.user_id, f"Samling {booking.id} i cirklen om", timeout=60
    )
    async with own_db.session() as session:
        states = {
            r.state
            for r in (
                await session.scalars(select(Reminder).where(Reminder.booking_id == booking.id))
            ).all()
            if r.occurrence_at > first
        }
        cancelled = await session.get(Booking, booking.id)
    assert cancelled is not None and cancelled.state == "cancelled"
    assert states <= {"cancelled"}

    # The care job asks circle members the wellbeing questions too, privately.
    async def asked_wellbeing() -> bool:
        async with own_db.session() as session:
            return (
                await session.scalar(
                    select(WellbeingAnswer).where(
                        WellbeingAnswer.person_id == people.rows["lis"].id
                    )
                )
            ) is not None

    await eventually(asked_wellbeing, what="Lis asked how she is")


async def test_a_coordinator_starts_a_circle_by_hand_and_the_people_who_fit_are_asked(
    person, own_db: Database, own_matchmaker, coordinators_room: Inbox
) -> None:
    people = await gardeners(person, own_db, ("grete", "poul"))
    async with own_db.session() as session:
        for wish in (await session.scalars(select(CircleWish))).all():
            await session.delete(wish)  # no offer: forming alone makes no circle
    bot = await own_matchmaker()
    host_id = people.host.user_id

    await coordinators_room.say(f'!ny-cirkel "Krydderurter" {host_id}')
    await coordinators_room.message(bot.user_id, "Krydderurter")
    await coordinators_room.say("ja")
    # Too few share "Krydderurter" (herbs): said kindly, nothing made.
    await coordinators_room.message(bot.user_id, "For få ventende deler Krydderurter")

    await coordinators_room.say(f"!ny-cirkel “Kolonihaven” {host_id}")
    await coordinators_room.message(bot.user_id, "Starte en cirkel om Kolonihaven")
    await coordinators_room.say("ja")
    started = await coordinators_room.message(bot.user_id, "om Kolonihaven er startet")
    assert "2 personer" in started.body
    circle = await the_circle(own_db)
    assert circle.source == "manual" and circle.topic == "Kolonihaven"
    _, question = await asked(people.members["grete"], bot.user_id, "være med i en lille cirkel")
    assert "Birthe" in question.body
