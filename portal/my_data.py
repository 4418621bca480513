"""My data: a signed-in person sees what connec holds about them, downloads it, or erases it.

Erasure reaches Synapse first (deactivate with erase, which also hides the person's
messages from others), then connec's own tables, and leaves one audit line that says
an erasure happened, with a random reference and no personal data. If Synapse cannot
be reached, nothing is erased and the person is told to try again; if the database
step fails after Synapse, trying again finishes it (deactivating twice is harmless).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from sqlalchemy import select

from connec.erasure import erase_in_synapse, erase_rows
from connec.models import Person
from connec.synapse_admin import SynapseError, SynapseUnavailable
from portal import keys, sessions
from portal.auth import requires, take_notice, viewer_of
from portal.choices import (
    CONTACT_NAMES,
    describe_interests,
    describe_languages,
    describe_slots,
)
from portal.csrf import csrf_token
from portal.forms import one, posted_values
from portal.i18n import N_, _
from portal.permissions import may_erase_self
from portal.records import PORTAL_ACTOR, export_person, record

log = logging.getLogger(__name__)


async def _person(request: web.Request) -> Person | None:
    async with request.app[keys.DATABASE].session() as session:
        return await session.scalar(
            select(Person).where(Person.matrix_id == viewer_of(request).matrix_id)
        )


async def _page(
    request: web.Request, *, problem: str | None = None, error: str | None = None, status: int = 200
) -> web.Response:
    person = await _person(request)
    lang = request[keys.LANG]
    return aiohttp_jinja2.render_template(
        "my_data.html",
        request,
        {
            "person": person,
            "may_erase": person is not None and may_erase_self(person.role),
            "problem": problem,
            "errors": {"confirm": error} if error else {},
            "notice": await take_notice(request),
            "csrf_token": await csrf_token(request),
            "languages_text": lambda codes: describe_languages(codes, lang),
            "interests_text": lambda keys, words: describe_interests(keys, words, lang),
            "slots_text": lambda slots: describe_slots(slots, lang),
            "server_name": request.app[keys.SETTINGS].synapse.server_name,
        },
        status=status,
    )


@requires()
async def my_data(request: web.Request) -> web.StreamResponse:
    """What connec holds about the signed-in person, and the two buttons."""
    return await _page(request)


def _words(lang: str, zone: str) -> dict[str, Any]:
    """How the readable page writes dates, numbers and connec's own codes."""
    tz = ZoneInfo(zone)

    def when(value: str | None, with_time: bool = True) -> str:
        if not value:
            return ""
        instant = datetime.fromisoformat(value).astimezone(tz)
        if not with_time:
            return format_date(instant, "d. MMMM y", locale=lang)
        return format_datetime(
            instant, "d. MMMM y, HH.mm" if lang == "da" else "d MMMM y, HH:mm", locale=lang
        )

    def contact(modes: list[str] | None) -> str:
        return ", ".join(_(lang, CONTACT_NAMES.get(mode, mode)) for mode in modes or [])

    return {
        "when": when,
        "day": lambda value: when(value, with_time=False),
        "number": lambda value: format_decimal(value, format="#,##0.#", locale=lang),
        "languages_text": lambda codes: describe_languages(codes or [], lang),
        "interests_text": lambda keys, words: describe_interests(keys or [], words or [], lang),
        "slots_text": lambda slots: describe_slots(slots or [], lang),
        "contact_text": contact,
    }


@requires()
async def readable(request: web.Request) -> web.StreamResponse:
    """Everything connec holds about the signed-in person, on a page to read or print."""
    viewer = viewer_of(request)
    settings = request.app[keys.SETTINGS]
    async with request.app[keys.DATABASE].session() as session:
        person = await session.scalar(select(Person).where(Person.matrix_id == viewer.matrix_id))
        data = await export_person(session, person) if person is not None else None
    zone = person.timezone if person is not None and person.timezone else settings.timezone
    return aiohttp_jinja2.render_template(
        "my_data_readable.html",
        request,
        {
            "data": data,
            "localpart": viewer.matrix_id.removeprefix("@").split(":", 1)[0],
            "server_name": viewer.matrix_id.split(":", 1)[1] if ":" in viewer.matrix_id else "",
            **_words(request[keys.LANG], zone),
        },
    )


@requires()
async def download(request: web.Request) -> web.StreamResponse:
    """Everything connec holds about the signed-in person, as a JSON file."""
    viewer = viewer_of(request)
    async with request.app[keys.DATABASE].session() as session:
        person = await session.scalar(select(Person).where(Person.matrix_id == viewer.matrix_id))
        data = (
            await export_person(session, person)
            if person is not None
            else {"about": "What connec holds about you.", "person": None}
        )
    data["matrix_id"] = viewer.matrix_id
    return web.Response(
        body=json.dumps(data, ensure_ascii=False, indent=2).encode(),
        content_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="connec-mine-data.json"'},
    )


@requires()
async def erase(request: web.Request) -> web.StreamResponse:
    """Erase the signed-in person, in Synapse and in connec, after they confirmed it."""
    if one(posted_values(await request.post()), "confirm") != "yes":
        return await _page(
            request,
            error=N_("Tick the box to confirm that you want everything erased."),
            status=400,
        )
    person = await _person(request)
    if person is None or not may_erase_self(person.role):
        raise web.HTTPForbidden()
    try:
        # In Synapse first (media, the bots' words about them, direct rooms, the
        # account), while connec's rows still say where to look.
        await erase_in_synapse(
            request.app[keys.SETTINGS],
            request.app[keys.SYNAPSE],
            request.app[keys.DATABASE],
            person.matrix_id,
        )
    except SynapseUnavailable:
        return await _page(request, problem="unavailable", status=503)
    except SynapseError as error:
        log.error("could not deactivate an account for erasure", extra={"error": str(error)})
        return await _page(request, problem="failed", status=502)
    async with request.app[keys.DATABASE].session() as session:
        # Every portal session of the account ends: an old cookie signs nobody in.
        await sessions.end_all(session, person.matrix_id)
        fresh = await session.get(Person, person.id)
        if fresh is not None:
            role = fresh.role
            reference = await erase_rows(session, fresh)
            record(
                session,
                actor=PORTAL_ACTOR,
                action="erased",
                at=request.app[keys.CLOCK].now(),
                subject=reference,
                details={"requested_by": "the person", "role": role},
            )
    cookie = await get_session(request)
    cookie.invalidate()
    raise web.HTTPSeeOther("/mine-data/slettet")


@aiohttp_jinja2.template("erased.html")
async def erased(request: web.Request) -> dict[str, object]:
    """After erasure: what happened, and that the person is signed out."""
    return {}
