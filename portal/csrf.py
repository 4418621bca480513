"""CSRF protection: every form carries a token from the person's session, every post is checked.

The token is a random value kept in the encrypted session cookie; a page with a form
asks for it with :func:`csrf_token`, and :func:`csrf_middleware` refuses any post
whose ``csrf_token`` field does not match, with a kind page and status 403.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from aiohttp import web
from aiohttp_session import get_session

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


async def token_is_valid(request: web.Request) -> bool:
    """Whether the posted form carries this session's token."""
    session = await get_session(request)
    expected = session.get(SESSION_KEY)
    if not isinstance(expected, str):
        return False
    posted = (await request.post()).get(FIELD)
    return isinstance(posted, str) and hmac.compare_digest(posted.encode(), expected.encode())


@web.middleware
async def csrf_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Refuse any post without the session's token: a kind page, and nothing changes."""
    if request.method in _UNSAFE and not await token_is_valid(request):
        from portal.problems import problem_page

        return await problem_page(request, "csrf", status=403)
    return await handler(request)
