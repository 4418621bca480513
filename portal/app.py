"""The portal's aiohttp application: templates, sessions, language, routes."""

from __future__ import annotations

import hashlib
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import setup as setup_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from connec.db import Database
from connec.i18n import LANGUAGES, normalise_language, translations
from connec.secrets import load_secrets
from connec.settings import Settings
from portal.routes import setup_routes

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
LANG = web.RequestKey("lang", str)
LANG_COOKIE = "connec_lang"
SESSION_MAX_AGE = 8 * 3600  # a working day


def request_language(request: web.Request) -> str:
    """Danish first: the cookie a person chose, else Danish."""
    return normalise_language(request.cookies.get(LANG_COOKIE))


@web.middleware
async def language_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    request[LANG] = request_language(request)
    return await handler(request)


@web.middleware
async def security_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'self' *",
    )
    return response


async def _template_context(request: web.Request) -> dict[str, Any]:
    lang = request.get(LANG, "da")
    return {"lang": lang, "languages": LANGUAGES, "path": request.path}


def _jinja_environment(app: web.Application) -> jinja2.Environment:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("portal", "templates"),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        context_processors=[_template_context, aiohttp_jinja2.request_processor],
        undefined=jinja2.StrictUndefined,
    )

    def gettext(context: Any, message: str, **values: Any) -> str:
        text = translations(context["lang"], "portal").gettext(message)
        return text % values if values else text

    def ngettext(context: Any, singular: str, plural: str, n: int, **values: Any) -> str:
        text = translations(context["lang"], "portal").ngettext(singular, plural, n)
        return text % {"num": n, **values}

    env.globals["gettext"] = jinja2.pass_context(gettext)
    env.globals["_"] = env.globals["gettext"]
    env.globals["ngettext"] = jinja2.pass_context(ngettext)
    env.newstyle_gettext = True  # type: ignore[attr-defined]
    return env


def cookie_key(secret: str) -> bytes:
    """The 32-byte key for encrypted session cookies, derived from the init secret."""
    return hashlib.sha256(secret.encode()).digest()


def make_app(settings: Settings) -> web.Application:
    """The portal application for one data folder."""
    app = web.Application(middlewares=[language_middleware, security_headers])
    app[SETTINGS] = settings
    secrets = load_secrets(settings.paths.secrets)
    setup_session(
        app,
        EncryptedCookieStorage(
            cookie_key(secrets.portal_cookie_key),
            cookie_name="connec_session",
            max_age=SESSION_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=settings.portal.client_url.startswith("https://"),
        ),
    )
    _jinja_environment(app)

    async def open_database(app: web.Application) -> Any:
        app[DATABASE] = Database(settings.db_url)
        yield
        await app[DATABASE].close()

    app.cleanup_ctx.append(open_database)
    setup_routes(app)
    return app
