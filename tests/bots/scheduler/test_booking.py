"""Two people in their visit room book a visit in everyday words, and the other confirms."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import nio
import pytest
from icalendar import Calendar
from nio.crypto.attachments import decrypt_attachment

from bots.scheduler.reminders import BEFORE, CHECKIN, PENDING, timer_of
from connec.clock import FrozenClock
from connec.db import Database
from connec.models import Booking
from tests.bots.scheduler.conftest import Inbox, bookings_in, react, reminders_of, say
from tests.harness import eventually

pytestmark = pytest.mark.synapse

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def thursday_morning() -> FrozenClock:
    """The "now" of the shared booking phrases: Thursday 26 November 2026, 10:00."""
    return FrozenClock(datetime(2026, 11, 26, 10, 0, tzinfo=COPENHAGEN))


async def calendar_of(client: nio.AsyncClient, event: nio.RoomEncryptedFile) -> Calendar:
    response = await client.download(event.url)
    assert isinstance(response, nio.DownloadResponse), response
    data = decrypt_attachment(response.body, event.key["k"], event.hashes["sha256"], event.iv)
    return Calendar.from_ical(data)


async def test_i_morgen_kl_14_is_said_back_in_words_confirmed_and_comes_with_a_calendar_file(
    scheduler, visit_pair, db
) -> None:
    bot = await scheduler(clock=thursday_morning())
    pair = await visit_pair("karen", "john")
    karen, john = Inbox(pair.a, bot.user_id), Inbox(pair.b, bot.user_id)

    await say(pair.a, pair.room_id, "!besøg i morgen kl 14")
    question = await john.wait_text(pair.room_id, "foreslår et besøg")
    assert "fredag den 27. november kl. 14.00" in question.body
    assert "Karen foreslår" in question.body and "Svar ja" in question.body
    assert pair.b.user_id in question.source["content"]["m.mentions"]["user_ids"]
    # The question reaches the room a moment before its event ID is stored.
    booking = await settled_booking(db, pair.room_id, lambda b: b.question_event_id is not None)
    assert booking.state == "proposed" and booking.question_event_id == question.event_id

    await say(pair.b, pair.room_id, "ja")
    confirmed = await karen.wait_text(pair.room_id, "er aftalt")
    assert f"Besøg {booking.id} er aftalt" in confirmed.body
    assert "fredag den 27. november kl. 14.00" in confirmed.body
    assert set(confirmed.source["content"]["m.mentions"]["user_ids"]) == {
        pair.a.user_id,
        pair.b.user_id,
    }

    file = await karen.wait_file(pair.room_id)
    assert isinstance(file, nio.RoomEncryptedFile)  # the room is encrypted, so is the file
    assert file.body == f"besoeg-{booking.id}.ics"
    calendar = await calendar_of(pair.a, file)
    [event] = calendar.walk("VEVENT")
    assert event.decoded("dtstart") == datetime(2026, 11, 27, 14, 0, tzinfo=COPENHAGEN)
    assert str(event["dtstart"].params["TZID"]) == "Europe/Copenhagen"
    assert "Karen og John" in str(event["summary"])
    assert calendar.walk("VTIMEZONE"), "the time zone travels with the file"

    booking = await settled_booking(db, pair.room_id, lambda b: b.calendar_mxc is not None)
    assert booking.state == "confirmed" and booking.confirmed_by == pair.b.user_id
    assert booking.calendar_mxc and booking.calendar_mxc.startswith("mxc://")
    reminders = await reminders_of(db, booking.id)
    assert [(r.kind, r.offset_minutes) for r in reminders] == [
        (BEFORE, 1440),
        (BEFORE, 15),
        (CHECKIN, 0),
        (CHECKIN, 0),
    ]
    assert all(r.state == PENDING for r in reminders)
    timer = timer_of(bot.runtime)
    assert timer is not None and len(timer) >= 4


async def test_next_tuesday_2pm_in_english_and_a_reaction_confirms_but_not_the_bookers_own(
    scheduler, visit_pair, db
) -> None:
    bot = await scheduler(clock=thursday_morning())
    pair = await visit_pair("mette", "oliver", b_language="en")
    mette, oliver = Inbox(pair.a, bot.user_id), Inbox(pair.b, bot.user_id)

    await say(pair.b, pair.room_id, "!visit next Tuesday 2pm video")
    question = await oliver.wait_text(pair.room_id, "suggests a visit")
    assert "Tuesday 1 December at 14:00" in question.body
    assert "video" in question.body

    # The booker cannot confirm their own suggestion.
    await react(pair.b, pair.room_id, question.event_id, "✅")
    await oliver.wait_text(pair.room_id, "now we wait for Mette")
    [booking] = await bookings_in(db, pair.room_id)
    assert booking.state == "proposed"

    await react(pair.a, pair.room_id, question.event_id, "👍")
    confirmed = await mette.wait_text(pair.room_id, "er aftalt")
    assert "tirsdag den 1. december kl. 14.00" in confirmed.body  # Mette reads Danish
    assert "kameraknappen" in confirmed.body
    await mette.wait_file(pair.room_id)
    [booking] = await bookings_in(db, pair.room_id)
    assert booking.state == "confirmed" and booking.contact_mode == "video"


async def test_a_time_it_cannot_understand_a_past_time_and_a_day_alone_get_kind_answers(
    scheduler, visit_pair, db
) -> None:
    bot = await scheduler(clock=thursday_morning())
    pair = await visit_pair("bodil", "anders")
    bodil = Inbox(pair.a, bot.user_id)

    await say(pair.a, pair.room_id, "!besøg når solen skinner")
    muddled = await bodil.wait_text(pair.room_id, "forstod ikke")
    assert "!besøg torsdag kl 14" in muddled.body  # examples of what works

    await say(pair.a, pair.room_id, "!besøg i går kl 10")
    past = await bodil.wait_text(pair.room_id, "allerede gået")
    assert "!besøg i morgen 10.30" in past.body

    await say(pair.a, pair.room_id, "!besøg næste tirsdag")
    ask = await bodil.wait_text(pair.room_id, "Hvad tid")
    assert "tirsdag den 1. december" in ask.body

    assert await bookings_in(db, pair.room_id) == []


async def test_everyday_phrases_from_the_shared_list_end_to_end(scheduler, visit_pair) -> None:
    bot = await scheduler(clock=thursday_morning())
    pair = await visit_pair("grethe", "emma", b_language="en")
    grethe, emma = Inbox(pair.a, bot.user_id), Inbox(pair.b, bot.user_id)
    danish = [
        ("på fredag klokken halv tre", "fredag den 27. november kl. 14.30"),
        ("3/12 kl. 15", "torsdag den 3. december kl. 15.00"),
        ("i morgen 10.30", "fredag den 27. november kl. 10.30"),
        ("hver onsdag kl 10", "hver onsdag kl. 10.00"),
    ]
    for phrase, words in danish:
        await say(pair.a, pair.room_id, f"!besøg {phrase}")
        await grethe.wait_text(pair.room_id, words)
    weekly = await grethe.wait_text(pair.room_id, "hver onsdag kl. 10.00")
    assert "Første gang er onsdag den 2. december" in weekly.body

    await say(pair.b, pair.room_id, "!visit tomorrow at 10:30")
    await emma.wait_text(pair.room_id, "Friday 27 November at 10:30")


async def test_someone_abroad_reads_the_time_on_their_own_clock(scheduler, visit_pair) -> None:
    bot = await scheduler(clock=thursday_morning())
    pair = await visit_pair("inger", "james", b_language="en", b_timezone="Europe/London")
    james = Inbox(pair.b, bot.user_id)

    await say(pair.a, pair.room_id, "!besøg torsdag kl 14")
    question = await james.wait_text(pair.room_id, "foreslår et besøg")
    assert "torsdag den 3. december kl. 14.00" in question.body
    assert "Thursday 3 December at 13:00" in question.body
    assert "Europe/London" in question.body


async def test_a_visit_is_moved_then_cancelled_each_told_to_both_and_its_reminders_dropped(
    scheduler, visit_pair, db
) -> None:
    bot = await scheduler(clock=thursday_morning())
    pair = await visit_pair("lise", "peter")
    lise, peter = Inbox(pair.a, bot.user_id), Inbox(pair.b, bot.user_id)

    await say(pair.a, pair.room_id, "!besøg torsdag kl 14")
    await peter.wait_text(pair.room_id, "foreslår et besøg")
    await say(pair.b, pair.room_id, "ok")
    await lise.wait_text(pair.room_id, "er aftalt")
    [first] = await bookings_in(db, pair.room_id)
    timer = timer_of(bot.runtime)
    assert timer is not None
    jobs_before = len(timer)

    await say(pair.b, pair.room_id, f"!flyt {first.id} fredag kl 10")
    moved = await lise.wait_text(pair.room_id, f"har flyttet besøg {first.id}")
    assert "fredag den 27. november kl. 10.00" in moved.body
    assert f"(nummer {first.id})" in moved.body  # a visit keeps its number when it moves
    first_again, second = await bookings_in(db, pair.room_id)
    assert first_again.state == "moved" and second.replaces_id == first.id
    assert second.visit_number == first.id
    assert all(r.state == "cancelled" for r in await reminders_of(db, first.id))
    assert len(timer) == jobs_before - 4

    await say(pair.a, pair.room_id, "ja")
    await peter.wait_text(pair.room_id, f"Besøg {first.id} er aftalt")

    await say(pair.a, pair.room_id, "!besøg")
    listing = await lise.wait_text(pair.room_id, "Jeres kommende besøg")
    assert f"Nummer {first.id}: <b>fredag" in listing.formatted_body

    await say(pair.a, pair.room_id, f"!aflys {first.id}")
    cancelled = await peter.wait_text(pair.room_id, f"har aflyst besøg {first.id}")
    assert "Lise har aflyst" in cancelled.body
    assert set(cancelled.source["content"]["m.mentions"]["user_ids"]) == {
        pair.a.user_id,
        pair.b.user_id,
    }
    assert (await bookings_in(db, pair.room_id))[1].state == "cancelled"
    assert all(r.state == "cancelled" for r in await reminders_of(db, second.id))
    assert len(timer) == jobs_before - 4

    await say(pair.a, pair.room_id, "!aflys 99999999")
    await lise.wait_text(pair.room_id, "kan ikke finde et åbent besøg med nummer 99999999")


async def settled_booking(db: Database, room_id: str, settled: Any) -> Booking:
    """The room's one booking, once ``settled`` holds for it (rows follow messages)."""

    async def check() -> Booking | None:
        [booking] = await bookings_in(db, room_id)
        return booking if settled(booking) else None

    return await eventually(check, what="the booking's row to catch up")
