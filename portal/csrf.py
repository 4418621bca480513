"""CSRF protection: every form carries a token from the person's session, every post is checked.

The token is a random value kept in the encrypted session cookie; a page with a form
asks for it with :func:`csrf_token`, and :func:`csrf_middleware` refuses any post
whose ``csrf_token`` field does not match, with a kind page and status 403.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp_session import get_session
from multidict import MultiDictProxy

from portal.problems import problem_page

log = logging.getLogger(__name__)

FIELD = "csrf_token"
SESSION_KEY = "csrf"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def csrf_token(request: web.Request) -> str:
    """This session's token, made on first use; put it in every form as ``csrf_token``."""
    session = await get_session(request)
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


async def renew_csrf_token(request: web.Request) -> str:
    """A fresh token, e.g. after signing in, so a token seen before cannot be reused."""
    session = await get_session(request)
    session[SESSION_KEY] = secrets.token_urlsafe(32)
    return str(session[SESSION_KEY])


async def posted_form(request: web.Request) -> MultiDictProxy[Any]:
    """The posted form, read once; a body that is no readable form is refused (400).

    Bytes that are not UTF-8, a charset nobody knows and a broken multipart body are
    the sender's mistake, never the portal's: they get the kind "could not read"
    page, and nothing is stored.
    """
    try:
        return await request.post()
    except (ValueError, LookupError, RuntimeError, HttpProcessingError) as error:
        log.info("unreadable form", extra={"error": type(error).__name__})
        raise web.HTTPBadRequest() from None


async def token_is_valid(request: web.Request) -> bool:
    """Whether the posted form carries this session's token."""
    session = await get_session(request)
    expected = session.get(SESSION_KEY)
    posted = (await posted_form(request)).get(FIELD)
    if not isinstance(expected, str):
        return False
    return isinstance(posted, str) and hmac.compare_digest(posted.encode(), expected.encode())


@web.middleware
async def csrf_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Refuse any post without the session's token: a kind page, and nothing changes."""
    if request.method in _UNSAFE and not await token_is_valid(request):
        return await problem_page(request, "csrf", status=403)
    return await handler(request)
