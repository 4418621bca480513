"""Start the portal: `connec portal`."""

from __future__ import annotations

import gc
import sys

import aiohttp_jinja2
from aiohttp import web

from connec.i18n import LANGUAGES, translations
from connec.logs import setup_logging
from connec.settings import Settings
from portal.app import make_app
from portal.choices import profile_choices

SWITCH_INTERVAL = 0.001
"""Seconds a thread may hold the interpreter while another waits (Python: 0.005)."""


async def settle(app: web.Application) -> None:
    """Load what every page needs, keep the garbage collector off it, share evenly.

    Everything loaded at start (the libraries, the interest taxonomy, the compiled
    templates and catalogs) lives as long as the process. Without this, Python's
    full collections walk all of it again and again, and each walk stops every
    request in flight for a tenth of a second under load. ``gc.freeze`` moves it
    out of the collector's sight; garbage made by requests is collected as usual.
    """
    environment = aiohttp_jinja2.get_env(app)
    for name in environment.list_templates(extensions=["html"]):
        environment.get_template(name)
    for lang in LANGUAGES:
        translations(lang, "portal")
        profile_choices(lang)
    gc.collect()
    gc.freeze()
    # The event loop shares the interpreter with one thread, the sign-up writer
    # (portal.sign_ups). By default a thread may keep the interpreter 5 ms before
    # the loop gets it back, and every request in flight waits with it; 1 ms keeps
    # form posts answered evenly when many sign up at once.
    sys.setswitchinterval(SWITCH_INTERVAL)


def main(settings: Settings) -> None:
    setup_logging(settings.log_level)
    app = make_app(settings)
    app.on_startup.append(settle)
    web.run_app(
        app,
        host=settings.portal.host,
        port=settings.portal.port,
        print=None,
        access_log=None,
        shutdown_timeout=5,
    )
