"""Start the portal: `connec portal`."""

from __future__ import annotations

from aiohttp import web

from connec.logs import setup_logging
from connec.settings import Settings
from portal.app import make_app


def main(settings: Settings) -> None:
    setup_logging(settings.log_level)
    web.run_app(
        make_app(settings),
        host=settings.portal.host,
        port=settings.portal.port,
        print=None,
        access_log=None,
        shutdown_timeout=5,
    )
