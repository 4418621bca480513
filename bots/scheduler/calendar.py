"""A calendar file (.ics) for each confirmed visit, so people can put it in their calendar.

The file is made with the icalendar package (with the visit's time zone inside it,
so a phone abroad shows the right hour), uploaded to Synapse's media repository and
sent to the visit room as a file. In an encrypted room the file itself is encrypted
first (Matrix encrypted attachments) and only the keys travel in the encrypted
message. A weekly visit is one repeating event.
"""

from __future__ import annotations

import contextlib
import io
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import nio
from icalendar import Calendar, Event
from nio.crypto.attachments import encrypt_attachment
from sqlalchemy import select

from bots.common.runtime import BotRuntime, txn_id
from bots.scheduler.visit_room import CircleRoom, VisitRoom, first_name, room_of_booking
from connec.models import Booking

log = logging.getLogger(__name__)

MIMETYPE = "text/calendar"
PRODUCT = "-//connec//scheduler//DA"

# How each way of talking is described in the calendar entry (msgids of scheduler.po).
MODE_WORDS = {
    "video": "By video in your visit room in Element.",
    "voice": "By phone call in your visit room in Element.",
    "call": "By phone call in your visit room in Element.",
    "chat": "By writing in your visit room in Element.",
    None: "In your visit room in Element: write, call or use video, as you like.",
}

CIRCLE_WORDS = "In your circle's room in Element: write, share pictures or send voice messages."


def build_ics(
    *,
    uid: str,
    starts_at: datetime,
    zone: str,
    duration_minutes: int,
    weekly: bool,
    summary: str,
    description: str,
    stamp: datetime,
) -> bytes:
    """One visit as an iCalendar file (RFC 5545), its time zone included."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", starts_at.astimezone(ZoneInfo(zone)))
    event.add("duration", timedelta(minutes=duration_minutes))
    event.add("summary", summary)
    event.add("description", description)
    if weekly:
        event.add("rrule", {"freq": "weekly"})
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def filename(booking: Booking, lang: str) -> str:
    # ASCII, so every phone and mail program keeps the name.
    if booking.circle_id is not None:
        word = "samling" if lang == "da" else "gathering"
        return f"{word}-{booking.visit_number}.ics"
    return (
        f"besoeg-{booking.visit_number}.ics"
        if lang == "da"
        else f"visit-{booking.visit_number}.ics"
    )


def ics_for(
    runtime: BotRuntime, booking: Booking, room: VisitRoom | CircleRoom, lang: str
) -> bytes:
    """The calendar file of a booking, its words in ``lang``."""
    words = runtime.bot.messages
    if isinstance(room, CircleRoom):
        summary = words.gettext(lang, "Circle: {topic}").format(topic=room.circle.topic)
        description = words.gettext(lang, CIRCLE_WORDS)
    else:
        summary = words.gettext(lang, "Visit: {a} and {b}").format(
            a=first_name(room.a), b=first_name(room.b)
        )
        mode = booking.contact_mode if booking.contact_mode in MODE_WORDS else None
        description = words.gettext(lang, MODE_WORDS[mode])
    return build_ics(
        uid=f"connec-visit-{booking.id}@{runtime.settings.synapse.server_name}",
        starts_at=booking.starts_at,
        zone=booking.zone,
        duration_minutes=booking.duration_minutes,
        weekly=booking.weekly,
        summary=summary,
        description=description,
        stamp=booking.updated_at or runtime.clock.now(),
    )


async def upload(
    client: nio.AsyncClient, data: bytes, name: str, encrypted: bool
) -> dict[str, Any] | None:
    """Upload the file; answers the message content that points to it, or None."""
    if encrypted:
        payload, keys = encrypt_attachment(data)
        content_type = "application/octet-stream"
    else:
        payload, keys, content_type = data, {}, MIMETYPE
    response, _ = await client.upload(
        io.BytesIO(payload), content_type=content_type, filename=name, filesize=len(payload)
    )
    if not isinstance(response, nio.UploadResponse):
        log.warning("calendar upload failed", extra={"bot": "scheduler", "error": str(response)})
        return None
    content: dict[str, Any] = {
        "msgtype": "m.file",
        "body": name,
        "filename": name,
        "info": {"mimetype": MIMETYPE, "size": len(data)},
    }
    if encrypted:
        content["file"] = {"url": response.content_uri, "mimetype": MIMETYPE, **keys}
    else:
        content["url"] = response.content_uri
    return content


async def send_calendar(runtime: BotRuntime, booking_id: int) -> str | None:
    """Upload a confirmed booking's calendar file and send it to its visit room, once."""
    assert runtime.client is not None
    async with runtime.db.session() as session:
        booking = await session.get(Booking, booking_id)
        room = await room_of_booking(session, booking) if booking else None
    if booking is None or room is None or booking.state != "confirmed":
        return None
    lang = room.language(runtime.settings.language)
    name = filename(booking, lang)
    matrix_room = runtime.client.rooms.get(booking.room_id)
    encrypted = matrix_room.encrypted if matrix_room is not None else True
    content = await upload(runtime.client, ics_for(runtime, booking, room, lang), name, encrypted)
    if content is None:
        return None
    if runtime.client.should_query_keys:
        # Know every member's devices before encrypting for them, as send() does.
        with contextlib.suppress(nio.LocalProtocolError):
            await runtime.client.keys_query()
    # The file is not a template message, so it is sent here; same txn rules as send().
    response = await runtime.room_send(
        booking.room_id, "m.room.message", content, txn_id("calendar", str(booking.id))
    )
    if not isinstance(response, nio.RoomSendResponse):
        log.warning("calendar send failed", extra={"bot": "scheduler", "error": str(response)})
        return None
    async with runtime.db.session() as session:
        row = await session.get(Booking, booking_id)
        if row is not None:
            file = content.get("file")
            row.calendar_mxc = file["url"] if isinstance(file, dict) else content["url"]
    return response.event_id


async def send_missing(runtime: BotRuntime) -> None:
    """After a restart: confirmed visits still ahead whose calendar file never went out."""
    now = runtime.clock.now()
    async with runtime.db.session() as session:
        ids = (
            await session.scalars(
                select(Booking.id).where(
                    Booking.state == "confirmed",
                    Booking.calendar_mxc.is_(None),
                    (Booking.starts_at > now) | Booking.weekly.is_(True),
                )
            )
        ).all()
    for booking_id in ids:
        await send_calendar(runtime, booking_id)
