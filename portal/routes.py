"""Every route of the portal, in one place."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from portal import views

STATIC_DIR = Path(__file__).parent / "static"


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/", views.landing, name="landing")
    app.router.add_get("/sprog/{lang}", views.switch_language, name="language")
    app.router.add_get("/health", views.health, name="health")
    app.router.add_get("/metrics", views.metrics, name="metrics")
    app.router.add_static("/static/", STATIC_DIR, name="static")
