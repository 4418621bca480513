"""The portal's aiohttp application: templates, sessions, language, routes."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import setup as setup_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from connec.clock import Clock, SystemClock
from connec.db import Database
from connec.i18n import LANGUAGES, normalise_language, translations
from connec.secrets import load_secrets
from connec.settings import Settings
from connec.synapse_admin import SynapseAdmin
from portal import fields
from portal.auth import current_viewer
from portal.client_address import TRUSTED, trusted_networks
from portal.csrf import SESSION_KEY as CSRF_SESSION_KEY
from portal.csrf import csrf_middleware
from portal.i18n import _
from portal.keys import (
    ACCOUNTS,
    CLOCK,
    DATABASE,
    LANG,
    LANG_COOKIE,
    SESSION_MAX_AGE,
    SETTINGS,
    SIGN_INS,
    SIGN_UPS,
    SYNAPSE,
    SYNAPSE_TIMEOUT,
)
from portal.problems import problems_middleware
from portal.routes import setup_routes
from portal.sign_ups import SignUpQueue
from portal.signin_limits import FailedSignIns
from portal.templating import (
    TEMPLATE_LANGUAGE,
    FixedTranslations,
    LanguageEnvironment,
    LanguageLoader,
)

__all__ = ["DATABASE", "LANG", "LANG_COOKIE", "SETTINGS", "cookie_key", "make_app"]


def request_language(request: web.Request) -> str:
    """Danish first: the cookie a person chose, else Danish."""
    return normalise_language(request.cookies.get(LANG_COOKIE))


@web.middleware
async def language_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    request[LANG] = request_language(request)
    TEMPLATE_LANGUAGE.set(request[LANG])
    return await handler(request)


@web.middleware
async def security_headers(request: web.Request, handler: Any) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    # Element Web embeds its pages from any host; no other page may be framed.
    framing = "'self' *" if request.path.startswith("/element/") else "'none'"
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; "
        f"form-action 'self'; frame-ancestors {framing}",
    )
    return response


async def _template_context(request: web.Request) -> dict[str, Any]:
    lang = request.get(LANG, "da")
    context: dict[str, Any] = {"lang": lang, "languages": LANGUAGES, "path": request.path}
    viewer = await current_viewer(request)
    context["viewer"] = viewer
    if viewer is not None:
        # The sign-out button in the header is a form, so it needs the session's token.
        from aiohttp_session import get_session

        context["session_csrf_token"] = (await get_session(request)).get(CSRF_SESSION_KEY, "")
    return context


def _jinja_environment(app: web.Application) -> jinja2.Environment:
    # aiohttp_jinja2 brings the context processors and its helpers; the environment
    # is connec's own, compiling each template once per language (portal.templating).
    helpers = aiohttp_jinja2.setup(
        app, context_processors=[_template_context, aiohttp_jinja2.request_processor]
    ).globals
    env = LanguageEnvironment(
        loader=LanguageLoader(jinja2.PackageLoader("portal", "templates")),
        autoescape=True,
        extensions=["jinja2.ext.i18n", FixedTranslations],
        undefined=jinja2.StrictUndefined,
        auto_reload=False,  # templates change with a new release, and the portal restarts
    )
    env.globals.update(helpers)
    app[aiohttp_jinja2.APP_KEY] = env

    def gettext(context: Any, message: str, **values: Any) -> str:
        text = _(context["lang"], message)
        return text % values if values else text

    def ngettext(context: Any, singular: str, plural: str, n: int, **values: Any) -> str:
        text = translations(context["lang"], "portal").ngettext(singular, plural, n)
        return text % {"num": n, **values}

    env.globals["gettext"] = jinja2.pass_context(gettext)
    env.globals["_"] = env.globals["gettext"]
    env.globals["ngettext"] = jinja2.pass_context(ngettext)
    env.globals.update(fields.GLOBALS)
    env.newstyle_gettext = True  # type: ignore[attr-defined]
    return env


def cookie_key(secret: str) -> bytes:
    """The 32-byte key for encrypted session cookies, derived from the init secret."""
    return hashlib.sha256(secret.encode()).digest()


def make_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    """The portal application for one data folder (``clock``: tests may move time)."""
    app = web.Application(middlewares=[language_middleware, security_headers])
    app[SETTINGS] = settings
    app[CLOCK] = clock or SystemClock()
    app[SIGN_INS] = FailedSignIns()
    app[TRUSTED] = trusted_networks(settings.portal.trusted_proxies)
    app[ACCOUNTS] = asyncio.Lock()
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
    # Order: session, then the templates' context (it reads the session), then kind
    # pages for refusals and failures (they render with that context), then CSRF.
    _jinja_environment(app)
    app.middlewares.extend([problems_middleware, csrf_middleware])

    async def open_database(app: web.Application) -> Any:
        app[DATABASE] = Database(settings.db_url)
        app[SYNAPSE] = SynapseAdmin(
            settings.synapse.url,
            shared_secret=secrets.registration_shared_secret,
            admin_token=secrets.admin_access_token or None,
            timeout=SYNAPSE_TIMEOUT,
        )
        app[SIGN_UPS] = SignUpQueue(settings.db_url, settings.synapse.server_name)
        app[SIGN_UPS].start()
        yield
        await app[SIGN_UPS].stop()
        await app[SYNAPSE].close()
        await app[DATABASE].close()

    app.cleanup_ctx.append(open_database)
    setup_routes(app)
    return app
