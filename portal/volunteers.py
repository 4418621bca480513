"""Volunteer sign-up (public), and a coordinator approving or turning down a volunteer.

Sign-up stores a pending volunteer and needs no Synapse, so it works even while
Synapse is down. The user name is reserved in connec's database at sign-up; the
Matrix account is made only on approval (or a federated Matrix ID is accepted as it
is). The matchmaker greets approved volunteers on its own (see DESIGN, flow 2).
"""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connec.accounts import NoFreeUserName, create_account
from connec.models import Person
from connec.synapse_admin import SynapseError, SynapseUnavailable
from portal import keys
from portal.auth import notice, requires, viewer_of
from portal.choices import profile_choices
from portal.csrf import csrf_token
from portal.dashboard import dashboard_page
from portal.forms import check_reason, check_volunteer, one, posted_values
from portal.i18n import N_
from portal.permissions import in_scope, may_decide_volunteer
from portal.records import record
from portal.sign_up_steps import (
    LAST,
    STEPS,
    errors_of,
    first_step_with,
    not_carried,
    posted_step,
)
from portal.sign_ups import FALLBACK_LOCALPART

log = logging.getLogger(__name__)

FIRST_PASSWORD = "first_password"


async def _sign_up_page(
    request: web.Request,
    form: dict[str, Any],
    errors: dict[str, str],
    *,
    step: int = 0,
    problem: str | None = None,
    status: int = 200,
) -> web.Response:
    settings = request.app[keys.SETTINGS]
    lang = request[keys.LANG]
    context = {
        **profile_choices(lang),
        "form": form,
        "errors": errors,
        "problem": problem,
        "steps": STEPS,
        "step": step,
        "last_step": LAST,
        "carried_past": not_carried(step),
        "csrf_token": await csrf_token(request),
        "federation_allowlist": settings.synapse.federation_allowlist,
        "server_name": settings.synapse.server_name,
    }
    return aiohttp_jinja2.render_template("volunteer_sign_up.html", request, context, status=status)


async def sign_up_form(request: web.Request) -> web.StreamResponse:
    """The public sign-up form, at its first step."""
    return await _sign_up_page(request, {"languages": ["da"], "capacity": "1"}, {})


async def sign_up(request: web.Request) -> web.StreamResponse:
    """A step of the sign-up: back, on to the next step, or send and store it.

    "Back" keeps what was typed and checks nothing; "Next" shows the step again if its
    own fields have mistakes; "Send" (or a post of the whole form) checks everything
    and stores a pending volunteer, or shows the first step with a mistake.
    """
    settings = request.app[keys.SETTINGS]
    clock = request.app[keys.CLOCK]
    posted = posted_values(await request.post())
    checked = check_volunteer(
        posted,
        today=clock.now().astimezone(ZoneInfo(settings.timezone)).date(),
        server_name=settings.synapse.server_name,
        federation_allowlist=settings.synapse.federation_allowlist,
    )
    step, go = posted_step(posted), one(posted, "go")
    if step is not None and go == "back":
        return await _sign_up_page(request, checked.form, {}, step=max(step - 1, 0))
    if step is not None and step < LAST and go != "send":
        mistakes = errors_of(step, checked.errors)
        if mistakes:
            return await _sign_up_page(request, checked.form, mistakes, step=step, status=400)
        return await _sign_up_page(request, checked.form, {}, step=step + 1)
    if not checked.ok or checked.value is None:
        first = first_step_with(checked.errors)
        mistakes = errors_of(first, checked.errors)
        return await _sign_up_page(request, checked.form, mistakes, step=first, status=400)
    try:
        await request.app[keys.SIGN_UPS].store(
            checked.value,
            language=request[keys.LANG],
            timezone=settings.timezone,
            at=clock.now(),
        )
    except Exception:
        log.exception("a volunteer's sign-up could not be stored")
        return await _sign_up_page(
            request, checked.form, {}, step=LAST, problem="failed", status=500
        )
    # Returned, not raised: a raised redirect leaves a cycle of frames behind on the
    # busiest form, and collecting those stalls every request in flight under load.
    return web.Response(status=303, headers={"Location": "/frivillig/tak"})


@aiohttp_jinja2.template("volunteer_thanks.html")
async def thanks(request: web.Request) -> dict[str, object]:
    """After signing up: what happens next."""
    return {}


# Coordinators -----------------------------------------------------------------


async def _pending_volunteer(request: web.Request, session: AsyncSession) -> Person:
    """The volunteer in the URL, if this coordinator may decide on them; else 404 or 403."""
    viewer = viewer_of(request)
    try:
        person_id = int(request.match_info["person_id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    person = await session.get(Person, person_id)
    if person is None or person.role != "volunteer":
        raise web.HTTPNotFound()
    if person.approval != "pending":
        await notice(request, N_("This volunteer has already been decided on."))
        raise web.HTTPSeeOther("/koordinator")
    if not may_decide_volunteer(
        viewer.role, viewer.municipality, person.role, person.municipality, person.approval
    ):
        raise web.HTTPForbidden()
    return person


@requires("coordinator")
async def approve(request: web.Request) -> web.StreamResponse:
    """Approve a pending volunteer: make their Matrix account, or accept their federated ID."""
    viewer = viewer_of(request)
    settings = request.app[keys.SETTINGS]
    database = request.app[keys.DATABASE]
    clock = request.app[keys.CLOCK]
    admin = request.app[keys.SYNAPSE]
    async with request.app[keys.ACCOUNTS]:
        async with database.session() as session:
            person = await _pending_volunteer(request, session)
            person_id, name, wanted = person.id, person.display_name, person.matrix_id
        local = wanted.endswith(":" + settings.synapse.server_name)

        async def store(user_id: str, _password: str | None = None) -> None:
            async with database.session() as session:
                volunteer = await session.get(Person, person_id)
                if volunteer is None or volunteer.approval != "pending":
                    raise RuntimeError("the volunteer changed while being approved")
                volunteer.matrix_id = user_id
                volunteer.approval = "approved"
                volunteer.approved_by = viewer.matrix_id
                volunteer.rejection_reason = None
                record(
                    session,
                    actor=viewer.matrix_id,
                    action="volunteer_approved",
                    at=clock.now(),
                    subject=user_id,
                    person_id=person_id,
                    details={"account": "created" if local else "federated"},
                )

        if not local:
            await store(wanted)
            await notice(
                request, N_("The volunteer is approved. connec will write to them on Matrix.")
            )
            raise web.HTTPSeeOther("/koordinator")

        async def taken_here(user_id: str) -> bool:
            if user_id == wanted:
                return False
            async with database.session() as session:
                return (
                    await session.scalar(select(Person.id).where(Person.matrix_id == user_id))
                    is not None
                )

        try:
            user_id, password, _ = await create_account(
                admin,
                server_name=settings.synapse.server_name,
                display_name=name,
                fallback=FALLBACK_LOCALPART,  # the same as at sign-up
                taken_here=taken_here,
                then=store,
            )
        except SynapseUnavailable:
            await notice(
                request,
                N_(
                    "connec could not reach the chat server, so nothing was changed. Please try again in a minute."
                ),
            )
            raise web.HTTPSeeOther("/koordinator") from None
        except (SynapseError, NoFreeUserName) as error:
            log.error("could not make a volunteer's account", extra={"error": str(error)})
            await notice(
                request,
                N_("The account could not be made, so nothing was changed. Please try again."),
            )
            raise web.HTTPSeeOther("/koordinator") from None

    cookie = await get_session(request)
    cookie[FIRST_PASSWORD] = {"person": person_id, "user": user_id, "password": password}
    raise web.HTTPSeeOther(f"/koordinator/frivillige/{person_id}/godkendt")


@requires("coordinator")
async def approved(request: web.Request) -> web.StreamResponse:
    """The new volunteer's user name and first password, shown to the coordinator once."""
    try:
        person_id = int(request.match_info["person_id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    session = await get_session(request)
    shown = session.get(FIRST_PASSWORD)
    if not isinstance(shown, dict) or shown.get("person") != person_id:
        shown = None
    else:
        del session[FIRST_PASSWORD]  # shown once, then gone
    async with request.app[keys.DATABASE].session() as db:
        person = await db.get(Person, person_id)
    viewer = viewer_of(request)
    if person is None or person.role != "volunteer" or person.approval != "approved":
        raise web.HTTPNotFound()
    if not in_scope(viewer.municipality, person.municipality):
        raise web.HTTPForbidden()
    settings = request.app[keys.SETTINGS]
    return aiohttp_jinja2.render_template(
        "volunteer_approved.html",
        request,
        {
            "person": person,
            "password": shown["password"] if shown else None,
            "homeserver": settings.synapse.client_url,
        },
    )


@requires("coordinator")
async def reject(request: web.Request) -> web.StreamResponse:
    """Turn a pending volunteer down, with a reason the coordinators keep."""
    viewer = viewer_of(request)
    database = request.app[keys.DATABASE]
    posted = posted_values(await request.post())
    async with database.session() as session:
        person = await _pending_volunteer(request, session)
        checked = check_reason(posted)
        if checked.ok and checked.value is not None:
            person.approval = "rejected"
            person.rejection_reason = checked.value
            person.approved_by = viewer.matrix_id
            record(
                session,
                actor=viewer.matrix_id,
                action="volunteer_rejected",
                at=request.app[keys.CLOCK].now(),
                subject=person.matrix_id,
                person_id=person.id,
            )
            person_id = None
        else:
            person_id = person.id
    if person_id is not None:
        return await dashboard_page(
            request,
            reject_errors={person_id: checked.errors.get("reason", "")},
            reject_form={person_id: checked.form.get("reason", "")},
            status=400,
        )
    await notice(
        request, N_("The volunteer has been turned down. The reason is kept for the coordinators.")
    )
    raise web.HTTPSeeOther("/koordinator")
