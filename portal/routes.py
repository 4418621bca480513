"""Every route of the portal, in one place.

Paths are Danish, as people see them in the address bar; the names are English.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from portal import (
    auth,
    dashboard,
    element_views,
    enrolment,
    evidence,
    my_data,
    views,
    volunteers,
)

STATIC_DIR = Path(__file__).parent / "static"


def setup_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/", views.landing, name="landing")
    router.add_get("/sprog/{lang}", views.switch_language, name="language")
    router.add_get("/health", views.health, name="health")
    router.add_get("/metrics", views.metrics, name="metrics")

    # Volunteers sign up (public); coordinators decide on the dashboard.
    router.add_get("/frivillig", volunteers.sign_up_form, name="volunteer-sign-up")
    router.add_post("/frivillig", volunteers.sign_up)
    router.add_get("/frivillig/tak", volunteers.thanks, name="volunteer-thanks")

    # Signing in with a Matrix account.
    router.add_get("/log-ind", auth.sign_in_form, name="signin")
    router.add_post("/log-ind", auth.sign_in)
    router.add_post("/log-ud", auth.sign_out, name="signout")

    # Frontline workers: citizens of their municipality, enrolment, welcome letters.
    router.add_get("/borgere", enrolment.citizens, name="citizens")
    router.add_get("/borgere/ny", enrolment.enrol_form, name="enrol")
    router.add_post("/borgere/ny", enrolment.enrol)
    router.add_get(
        "/borgere/{person_id}/velkomstbrev", enrolment.welcome_letter, name="welcome-letter"
    )
    router.add_get(
        "/borgere/{person_id}/ny-adgangskode",
        enrolment.new_password_question,
        name="new-password",
    )
    router.add_post("/borgere/{person_id}/ny-adgangskode", enrolment.new_password)
    router.add_get("/kom-i-gang", enrolment.get_started, name="get-started")

    # Coordinators.
    router.add_get("/koordinator", dashboard.dashboard, name="dashboard")
    router.add_get("/koordinator/rapport", evidence.report_page, name="evidence")
    router.add_get("/koordinator/rapport.csv", evidence.report_csv, name="evidence-csv")
    router.add_post(
        "/koordinator/frivillige/{person_id}/godkend", volunteers.approve, name="approve"
    )
    router.add_get(
        "/koordinator/frivillige/{person_id}/godkendt", volunteers.approved, name="approved"
    )
    router.add_post("/koordinator/frivillige/{person_id}/afvis", volunteers.reject, name="reject")

    # Anyone signed in: what connec holds about them.
    router.add_get("/mine-data", my_data.my_data, name="my-data")
    router.add_get("/mine-data/oversigt", my_data.readable, name="my-data-readable")
    router.add_get("/mine-data/download", my_data.download, name="my-data-download")
    router.add_post("/mine-data/slet", my_data.erase, name="erase")
    router.add_get("/mine-data/slettet", my_data.erased, name="erased")

    router.add_get("/element/home", element_views.element_home, name="element-home")
    router.add_get("/element/welcome", element_views.element_welcome, name="element-welcome")
    router.add_get("/element/themes", element_views.element_themes, name="element-themes")
    router.add_static("/static/", STATIC_DIR, name="static")
