"""Every route of the portal, in one place."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from portal import element_views, views

STATIC_DIR = Path(__file__).parent / "static"


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/", views.landing, name="landing")
    app.router.add_get("/sprog/{lang}", views.switch_language, name="language")
    app.router.add_get("/health", views.health, name="health")
    app.router.add_get("/metrics", views.metrics, name="metrics")
    app.router.add_get("/element/home", element_views.element_home, name="element-home")
    app.router.add_get("/element/welcome", element_views.element_welcome, name="element-welcome")
    app.router.add_get("/element/themes", element_views.element_themes, name="element-themes")
    app.router.add_static("/static/", STATIC_DIR, name="static")
