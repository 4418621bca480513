"""Signing in with a Matrix account, who is signed in, and who may see which page.

The portal keeps no passwords. It asks Synapse's login API whether the password is
right, logs that new Matrix session out at once, and remembers only the Matrix ID and
a session ID in the encrypted session cookie; the server keeps the session IDs that
still count (:mod:`portal.sessions`), so a session can be ended there. Roles come from connec's ``people`` table on every
request, so a changed role counts at once. Unknown names and wrong passwords get
the same answer; failed tries are limited per account and per address.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote, urlsplit

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session, new_session
from sqlalchemy import select

from connec.models import Person, PortalSession
from connec.people import STAFF_ROLES
from connec.synapse_admin import SynapseError, SynapseUnavailable
from portal import keys, sessions
from portal.client_address import UNKNOWN, address_of, limit_key
from portal.csrf import csrf_token, renew_csrf_token
from portal.forms import check_sign_in, one, posted_values

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PORTAL_DEVICE = "CONNEC_PORTAL"
"""The device ID of the portal's password checks: one name, so a check that could not
be logged out leaves at most one extra session on an account, never many."""

_CACHE = web.RequestKey("viewer_cache", object)
_NOBODY = object()


@dataclass(frozen=True)
class Viewer:
    """Who is signed in: their Matrix ID and, if connec knows them, their role."""

    matrix_id: str
    person_id: int | None
    role: str | None
    municipality: str | None
    display_name: str

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def home(self) -> str:
        """Where this person lands after signing in."""
        return {"coordinator": "/koordinator", "frontline": "/borgere"}.get(
            self.role or "", "/mine-data"
        )


NEXT_MAX = 2048


def safe_next(value: str | None, default: str = "/") -> str:
    """A path on this site to go on to (after signing in, after a language switch).

    Browsers drop tabs and line breaks from a URL and read a backslash as a slash, so
    ``/%09/evil.example`` (a tab) or a backslash would lead to another site: any
    control character, space or backslash, and anything that names a scheme or a
    host, gives ``default`` instead.
    """
    if not value or len(value) > NEXT_MAX or not value.startswith("/"):
        return default
    if "\\" in value or any(ch <= " " or ch == "\x7f" for ch in value):
        return default
    parts = urlsplit(value)
    if value.startswith("//") or parts.scheme or parts.netloc:
        return default
    return value


async def current_viewer(request: web.Request) -> Viewer | None:
    """The signed-in person, checked against the session's age and connec's records."""
    cached = request.get(_CACHE, None)
    if cached is not None:
        return None if cached is _NOBODY else cast(Viewer, cached)
    viewer = await _load_viewer(request)
    request[_CACHE] = _NOBODY if viewer is None else viewer
    return viewer


async def _load_viewer(request: web.Request) -> Viewer | None:
    session = await get_session(request)
    user = session.get("user")
    if not isinstance(user, str):
        return None
    since = session.get("since")
    session_id = session.get(sessions.COOKIE_KEY)
    now = request.app[keys.CLOCK].now().timestamp()
    if (
        not isinstance(since, int | float)
        or now - since > keys.SESSION_MAX_AGE
        or since > now
        or not isinstance(session_id, str)
    ):
        session.clear()  # too old: signed out, whatever the cookie says
        return None
    async with request.app[keys.DATABASE].session() as db:
        found = (
            await db.execute(
                select(PortalSession.matrix_id, Person)
                .outerjoin(Person, Person.matrix_id == PortalSession.matrix_id)
                .where(PortalSession.id_hash == sessions.id_hash(session_id))
            )
        ).first()
    if found is None or found[0] != user:
        session.clear()  # ended on the server: signed out, erased, or a new password
        return None
    person = found[1]
    if person is None:
        return Viewer(user, None, None, None, user)
    return Viewer(user, person.id, person.role, person.municipality, person.display_name or user)


def requires(*roles: str) -> Callable[[Handler], Handler]:
    """Only signed-in people (with one of ``roles``, if given) reach the view.

    Someone not signed in is sent to sign in and brought back; someone signed in
    without the role gets a kind "not for you" page (403).
    """

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            viewer = await current_viewer(request)
            if viewer is None:
                back = request.path_qs if request.method == "GET" else request.path
                raise web.HTTPSeeOther(f"/log-ind?next={quote(back, safe='/')}")
            if roles and viewer.role not in roles:
                raise web.HTTPForbidden()
            request[keys.VIEWER] = viewer
            response = await handler(request)
            # Pages behind sign-in hold personal data: never kept in a shared cache.
            response.headers["Cache-Control"] = "no-store"
            return response

        return guarded

    return wrap


def viewer_of(request: web.Request) -> Viewer:
    """The viewer a :func:`requires` guard let in."""
    return cast(Viewer, request[keys.VIEWER])


async def notice(request: web.Request, message: str) -> None:
    """A short message shown once on the next page ("The volunteer is approved.")."""
    session = await get_session(request)
    session["notice"] = message


async def take_notice(request: web.Request) -> str | None:
    """The message left for this page, if any; it is shown once."""
    session = await get_session(request)
    message = session.pop("notice", None) if "notice" in session else None
    return message if isinstance(message, str) else None


# Views ------------------------------------------------------------------------


def _sign_in_page(
    request: web.Request,
    *,
    form: dict[str, Any],
    errors: dict[str, str],
    problem: str | None,
    token: str,
    status: int,
) -> web.Response:
    context = {
        "form": form,
        "errors": errors,
        "problem": problem,
        "csrf_token": token,
        "next": safe_next(form.get("next") or request.query.get("next"), ""),
    }
    return aiohttp_jinja2.render_template("sign_in.html", request, context, status=status)


async def sign_in_form(request: web.Request) -> web.StreamResponse:
    """The sign-in page."""
    viewer = await current_viewer(request)
    if viewer is not None:
        raise web.HTTPSeeOther(safe_next(request.query.get("next"), viewer.home))
    token = await csrf_token(request)
    return _sign_in_page(request, form={}, errors={}, problem=None, token=token, status=200)


async def sign_in(request: web.Request) -> web.StreamResponse:
    """Check the password with Synapse; on success remember the person in the session."""
    settings = request.app[keys.SETTINGS]
    data = await request.post()
    posted = posted_values(data)
    checked = check_sign_in(posted, server_name=settings.synapse.server_name)
    form = {**checked.form, "next": one(posted, "next")}
    token = await csrf_token(request)

    def again(problem: str | None, status: int) -> web.Response:
        return _sign_in_page(
            request, form=form, errors=checked.errors, problem=problem, token=token, status=status
        )

    if not checked.ok or checked.value is None:
        return again(None, 400)
    user_id, password = checked.value.user_id, checked.value.password
    limits = request.app[keys.SIGN_INS]
    client = address_of(request)
    address = limit_key(client)
    if limits.blocked(user_id, address):
        return again("too_many", 429)
    if not user_id.endswith(":" + settings.synapse.server_name.lower()):
        limits.failed(user_id, address)
        return again("wrong", 400)

    admin = request.app[keys.SYNAPSE]
    try:
        # Synapse counts sign-ins per address too: it is told whose they are, so the
        # portal's own address is never one everybody shares.
        login = await admin.login(
            user_id,
            password,
            device_id=PORTAL_DEVICE,
            client_address=None if client == UNKNOWN else client,
            secure=settings.portal.client_url.startswith("https://"),
        )
    except SynapseUnavailable:
        return again("unavailable", 503)
    except SynapseError as error:
        if error.status == 429:
            return again("too_many", 429)
        limits.failed(user_id, address)
        log.info("failed sign-in", extra={"address": address})
        return again("wrong", 400)
    await _forget_matrix_session(request, str(login["access_token"]))
    limits.succeeded(user_id)

    user = str(login["user_id"])
    now = request.app[keys.CLOCK].now()
    async with request.app[keys.DATABASE].session() as db:
        session_id = await sessions.start(db, user, at=now, max_age=keys.SESSION_MAX_AGE)
    session = await new_session(request)  # a new session: nothing carried over from before
    session["user"] = user
    session["since"] = int(now.timestamp())
    session[sessions.COOKIE_KEY] = session_id
    await renew_csrf_token(request)
    request.pop(_CACHE, None)
    viewer = await current_viewer(request)
    assert viewer is not None
    raise web.HTTPSeeOther(safe_next(form.get("next"), viewer.home))


async def _forget_matrix_session(request: web.Request, token: str) -> None:
    """Log out the Matrix session the password check opened: the portal needs none."""
    try:
        await request.app[keys.SYNAPSE].request(
            "POST", "/_matrix/client/v3/logout", token=token, json={}
        )
    except (SynapseError, SynapseUnavailable) as error:
        log.warning("could not log out the portal's check session", extra={"error": str(error)})


async def sign_out(request: web.Request) -> web.StreamResponse:
    """End the session, here and on the server (a copy of the cookie signs nobody in)."""
    session = await get_session(request)
    session_id = session.get(sessions.COOKIE_KEY)
    if isinstance(session_id, str):
        async with request.app[keys.DATABASE].session() as db:
            await sessions.end(db, session_id)
    session.invalidate()
    raise web.HTTPSeeOther("/")
