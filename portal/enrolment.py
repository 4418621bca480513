"""A frontline worker enrols a citizen, prints the welcome letter, and can give a new password.

Enrolment makes the Matrix account last but one and stores the citizen last; if
storing fails the account is deactivated again, and if Synapse cannot be reached
nothing is made and the form comes back as it was (see :mod:`connec.accounts`).
The first password is never stored: it rides in the encrypted session cookie from
the enrolment to the letter, is shown there once, and is gone.

The letter is written for Element X, the app a person finds in the stores today;
the names of its buttons are quoted as its Danish and English translations have them
(see docs/element.md). It speaks the citizen's language, while the tools around it
speak the frontline worker's.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
import jinja2
import segno
from aiohttp import web
from aiohttp_session import get_session
from markupsafe import Markup
from sqlalchemy import select

from connec.accounts import NoFreeUserName, create_account, reset_password
from connec.models import Person
from connec.synapse_admin import SynapseError, SynapseUnavailable
from portal import keys, sessions
from portal.auth import notice, requires, take_notice, viewer_of
from portal.choices import opening_hours, profile_choices
from portal.csrf import csrf_token
from portal.forms import CitizenEnrolment, check_citizen, one, posted_values
from portal.i18n import N_
from portal.permissions import CITIZEN_ROLES, may_enrol, may_see_citizen
from portal.records import record
from portal.templating import TEMPLATE_LANGUAGE
from portal.volunteers import FIRST_PASSWORD

log = logging.getLogger(__name__)

FALLBACK_LOCALPART = "borger"
ELEMENT_X_ANDROID = "https://play.google.com/store/apps/details?id=io.element.android.x"
ELEMENT_X_IOS = "https://apps.apple.com/app/element-x-secure-chat-call/id1631335820"
ELEMENT_X_SIGN_IN = "https://mobile.element.io/element/?{query}"
"""A link both Element X apps open with the server filled in ("Log ind på <server>").

Only the server name goes in it: whoever opens it without the app installed visits
Element's site, which need not learn anyone's user name."""


def _require_municipality(request: web.Request) -> str:
    viewer = viewer_of(request)
    if not may_enrol(viewer.role, viewer.municipality):
        raise web.HTTPForbidden()
    assert viewer.municipality is not None
    return viewer.municipality


@requires("frontline")
async def citizens(request: web.Request) -> web.StreamResponse:
    """The citizens of the worker's municipality, newest first, with their letters."""
    municipality = _require_municipality(request)
    async with request.app[keys.DATABASE].session() as session:
        people = list(
            await session.scalars(
                select(Person)
                .where(Person.role.in_(CITIZEN_ROLES), Person.municipality == municipality)
                .order_by(Person.created_at.desc())
                .limit(500)
            )
        )
    return aiohttp_jinja2.render_template(
        "citizens.html",
        request,
        {
            "people": people,
            "municipality": municipality,
            "notice": await take_notice(request),
            "csrf_token": await csrf_token(request),
        },
    )


async def _enrol_page(
    request: web.Request,
    form: dict[str, Any],
    errors: dict[str, str],
    *,
    problem: str | None = None,
    status: int = 200,
) -> web.Response:
    lang = request[keys.LANG]
    context = {
        **profile_choices(lang),
        "form": form,
        "errors": errors,
        "problem": problem,
        "municipality": viewer_of(request).municipality,
        "csrf_token": await csrf_token(request),
    }
    return aiohttp_jinja2.render_template("enrol.html", request, context, status=status)


@requires("frontline")
async def enrol_form(request: web.Request) -> web.StreamResponse:
    """The enrolment form, filled in together with the citizen."""
    _require_municipality(request)
    defaults = {"languages": ["da"], "language": request[keys.LANG], "distance": "anywhere"}
    return await _enrol_page(request, defaults, {})


@requires("frontline")
async def enrol(request: web.Request) -> web.StreamResponse:
    """Store the citizen and make their account; then their welcome letter."""
    municipality = _require_municipality(request)
    clock = request.app[keys.CLOCK]
    checked = check_citizen(posted_values(await request.post()), this_year=clock.now().year)
    if not checked.ok or checked.value is None:
        return await _enrol_page(request, checked.form, checked.errors, status=400)
    try:
        async with request.app[keys.ACCOUNTS]:
            user_id, password, person_id = await _make_citizen(request, checked.value, municipality)
    except SynapseUnavailable:
        return await _enrol_page(request, checked.form, {}, problem="unavailable", status=503)
    except (SynapseError, NoFreeUserName) as error:
        log.error("could not make a citizen's account", extra={"error": str(error)})
        return await _enrol_page(request, checked.form, {}, problem="failed", status=502)
    session = await get_session(request)
    session[FIRST_PASSWORD] = {"person": person_id, "user": user_id, "password": password}
    raise web.HTTPSeeOther(f"/borgere/{person_id}/velkomstbrev")


async def _make_citizen(
    request: web.Request, citizen: CitizenEnrolment, municipality: str
) -> tuple[str, str, int]:
    settings = request.app[keys.SETTINGS]
    database = request.app[keys.DATABASE]
    viewer = viewer_of(request)
    now = request.app[keys.CLOCK].now()

    async def taken_here(user_id: str) -> bool:
        async with database.session() as session:
            found = await session.scalar(select(Person.id).where(Person.matrix_id == user_id))
        return found is not None

    async def store(user_id: str, _password: str) -> int:
        async with database.session() as session:
            person = Person(
                matrix_id=user_id,
                role="peer" if citizen.peer else "citizen",
                display_name=citizen.display_name,
                language=citizen.language,
                timezone=settings.timezone,
                created_at=now,
                birth_year=citizen.birth_year,
                gender=citizen.gender,
                municipality=municipality,
                postcode=citizen.postcode,
                languages=citizen.languages,
                interest_keys=citizen.interest_keys,
                interest_words=citizen.interest_words,
                about=citizen.about,
                contact_modes=citizen.contact_modes,
                availability=citizen.availability,
                partner_gender=citizen.partner_gender,
                age_min=citizen.age_min,
                age_max=citizen.age_max,
                near_me=citizen.near_me,
                approval="approved",
                profile_complete=True,
                consent_at=now,
                enrolled_by=viewer.matrix_id,
            )
            session.add(person)
            await session.flush()
            record(
                session,
                actor=viewer.matrix_id,
                action="citizen_enrolled",
                at=now,
                subject=user_id,
                person_id=person.id,
                details={"role": person.role},
            )
            return person.id

    return await create_account(
        request.app[keys.SYNAPSE],
        server_name=settings.synapse.server_name,
        display_name=citizen.display_name,
        fallback=FALLBACK_LOCALPART,
        taken_here=taken_here,
        then=store,
    )


async def _citizen_in_scope(request: web.Request) -> Person:
    viewer = viewer_of(request)
    try:
        person_id = int(request.match_info["person_id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    async with request.app[keys.DATABASE].session() as session:
        person = await session.get(Person, person_id)
    if person is None or person.role not in CITIZEN_ROLES:
        raise web.HTTPNotFound()
    if not may_see_citizen(viewer.role, viewer.municipality, person.role, person.municipality):
        raise web.HTTPForbidden()
    return person


def sign_in_help_url(portal_url: str, localpart: str) -> str:
    """Where the letter's QR code leads: the sign-in help, with the user name filled in."""
    return f"{portal_url}/kom-i-gang?{urlencode({'bruger': localpart})}"


def qr_svg(url: str, title: str) -> Markup:
    """A QR code as inline SVG, dark on light, sized by CSS."""
    code = segno.make(url, error="m")
    svg = code.svg_inline(
        scale=1, border=2, dark="#000000", light="#ffffff", title=title, svgclass="qr"
    )
    # segno's fixed size would fight the print CSS; a viewBox lets the code scale sharply.
    width, height = code.symbol_size(scale=1, border=2)
    svg = svg.replace(
        f'<svg width="{width}" height="{height}"',
        f'<svg viewBox="0 0 {width} {height}" role="img"',
        1,
    )
    return Markup(svg)  # segno escapes the title; the rest is its own markup


def element_x_sign_in_url(server_name: str) -> str:
    """The link that opens Element X with connec's server filled in."""
    return ELEMENT_X_SIGN_IN.format(query=urlencode({"account_provider": server_name}))


def help_line_text(request: web.Request, municipality: str | None, lang: str) -> dict[str, str]:
    """The municipality's help line as the letter and the pages show it, or nothing."""
    line = request.app[keys.SETTINGS].help.line_for(municipality)
    if line is None:
        return {}
    return {"phone": line.phone, "hours": opening_hours(line.days, line.opens, line.closes, lang)}


def render_in(request: web.Request, name: str, lang: str, context: dict[str, Any]) -> Markup:
    """A template rendered in ``lang``, whatever the language of the page around it."""
    env: jinja2.Environment = request.app[aiohttp_jinja2.APP_KEY]
    token = TEMPLATE_LANGUAGE.set(lang)
    try:
        return Markup(env.get_template(name).render({**context, "lang": lang}))
    finally:
        TEMPLATE_LANGUAGE.reset(token)


async def _worker_phone(request: web.Request) -> str | None:
    """The frontline worker's own phone number, if their profile has one."""
    viewer = viewer_of(request)
    if viewer.person_id is None:
        return None
    async with request.app[keys.DATABASE].session() as session:
        worker = await session.get(Person, viewer.person_id)
    return worker.phone if worker is not None else None


@requires("frontline")
async def welcome_letter(request: web.Request) -> web.StreamResponse:
    """The welcome letter to print: sign-in, first password (once), help, first steps."""
    person = await _citizen_in_scope(request)
    session = await get_session(request)
    shown = session.get(FIRST_PASSWORD)
    password = None
    if isinstance(shown, dict) and shown.get("person") == person.id:
        password = str(shown.get("password"))
        del session[FIRST_PASSWORD]  # shown once: a reload shows it no more
    settings = request.app[keys.SETTINGS]
    localpart = person.matrix_id.removeprefix("@").split(":", 1)[0]
    help_url = sign_in_help_url(settings.portal.client_url, localpart)
    from connec.i18n import translations

    title = translations(person.language, "portal").gettext(
        N_("QR code: opens the help for signing in")
    )
    help_line = help_line_text(request, person.municipality, person.language)
    worker_phone = await _worker_phone(request)
    letter = render_in(
        request,
        "welcome_letter_sheet.html",
        person.language,
        {
            "person": person,
            "localpart": localpart,
            "password": password,
            "server_name": settings.synapse.server_name,
            "qr": qr_svg(help_url, title),
            "staff_name": viewer_of(request).display_name,
            "staff_phone": worker_phone,
            "help_line": help_line,
        },
    )
    return aiohttp_jinja2.render_template(
        "welcome_letter.html",
        request,
        {
            "person": person,
            "password": password,
            "letter": letter,
            "letter_lang": person.language,
            "no_phone": not help_line and not worker_phone,
            "notice": await take_notice(request),
        },
    )


@requires("frontline")
async def new_password_question(request: web.Request) -> web.StreamResponse:
    """Asks first: what a new first password does, before it is made."""
    person = await _citizen_in_scope(request)
    return await _new_password_page(request, person)


async def _new_password_page(
    request: web.Request, person: Person, status: int = 200
) -> web.Response:
    return aiohttp_jinja2.render_template(
        "new_password.html",
        request,
        {"person": person, "csrf_token": await csrf_token(request)},
        status=status,
    )


@requires("frontline")
async def new_password(request: web.Request) -> web.StreamResponse:
    """A new first password for a citizen who lost theirs, once asked; then a new letter."""
    person = await _citizen_in_scope(request)
    if one(posted_values(await request.post()), "confirm") != "yes":
        return await _new_password_page(request, person, status=400)
    viewer = viewer_of(request)
    try:
        password = await reset_password(request.app[keys.SYNAPSE], person.matrix_id)
    except SynapseUnavailable:
        await notice(
            request,
            N_(
                "connec could not reach the chat server, so the password was not changed. Please try again in a minute."
            ),
        )
        raise web.HTTPSeeOther(f"/borgere/{person.id}/velkomstbrev") from None
    except SynapseError as error:
        log.error("could not give a new password", extra={"error": str(error)})
        await notice(request, N_("The password could not be changed. Please try again."))
        raise web.HTTPSeeOther(f"/borgere/{person.id}/velkomstbrev") from None
    async with request.app[keys.DATABASE].session() as session:
        # A lost letter must not keep a way in: the portal's sessions end too
        # (Synapse has already signed out every device of the account).
        await sessions.end_all(session, person.matrix_id)
        record(
            session,
            actor=viewer.matrix_id,
            action="first_password_renewed",
            at=request.app[keys.CLOCK].now(),
            subject=person.matrix_id,
            person_id=person.id,
        )
    cookie = await get_session(request)
    cookie[FIRST_PASSWORD] = {"person": person.id, "user": person.matrix_id, "password": password}
    raise web.HTTPSeeOther(f"/borgere/{person.id}/velkomstbrev")


@aiohttp_jinja2.template("get_started.html")
async def get_started(request: web.Request) -> dict[str, object]:
    """Where the welcome letter's QR code leads: install Element X, and sign in step by step."""
    settings = request.app[keys.SETTINGS]
    user = request.query.get("bruger", "")
    valid = bool(user) and len(user) <= 64 and all(ch.isalnum() or ch in "._-=" for ch in user)
    return {
        "user": user if valid else "",
        "server_name": settings.synapse.server_name,
        "sign_in_url": element_x_sign_in_url(settings.synapse.server_name),
        "android_url": ELEMENT_X_ANDROID,
        "ios_url": ELEMENT_X_IOS,
        "help_line": help_line_text(request, None, request[keys.LANG]),
    }
