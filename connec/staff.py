"""Staff: frontline workers and coordinators, added by the operator.

`connec staff add` records the person's role and municipality (what the portal's
authorisation checks on every request), makes their Matrix account unless they
have one, and brings a coordinator into the coordinators' room with the power
level coordinators' commands need.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import select

from connec.accounts import create_account
from connec.db import Database
from connec.federation import is_own, refusal
from connec.models import AuditEntry, DeploymentFact, Person
from connec.municipalities import MUNICIPALITIES
from connec.provision import FACT_COORDINATORS_ROOM, BotCredentials, credentials_path
from connec.secrets import load_secrets
from connec.settings import Settings
from connec.synapse_admin import SynapseAdmin

STAFF_ROLES = ("frontline", "coordinator")
COORDINATOR_POWER = 50


@dataclass(frozen=True)
class StaffAdded:
    user_id: str
    password: str | None  # a first password, when connec made the account
    invited: bool


async def add_staff(
    settings: Settings,
    *,
    display_name: str,
    role: str,
    municipality: str | None,
    matrix_id: str | None = None,
    phone: str | None = None,
) -> StaffAdded:
    """Add (or update) a staff member; idempotent for someone already known.

    ``phone``: a frontline worker's own number, printed on the welcome letters they
    make next to the municipality's help line.
    """
    if role not in STAFF_ROLES:
        raise ValueError(f"role must be one of {', '.join(STAFF_ROLES)}")
    if municipality is not None and municipality not in MUNICIPALITIES:
        raise ValueError(f"{municipality!r} is not one of Denmark's 98 municipalities")
    if role == "frontline" and municipality is None:
        raise ValueError("a frontline worker enrols citizens of one municipality: name it")
    if matrix_id is not None and (problem := refusal(matrix_id, settings.synapse)) is not None:
        raise ValueError(problem)
    secrets = load_secrets(settings.paths.secrets)
    db = Database(settings.db_url)
    try:
        async with SynapseAdmin(
            settings.synapse.url,
            shared_secret=secrets.registration_shared_secret,
            admin_token=secrets.admin_access_token,
        ) as admin:
            password: str | None = None

            async def store(user_id: str, _password: str = "") -> None:
                async with db.session() as session:
                    person = await session.scalar(select(Person).where(Person.matrix_id == user_id))
                    if person is None:
                        person = Person(matrix_id=user_id, role=role, language=settings.language)
                        session.add(person)
                    person.role, person.display_name = role, display_name
                    person.municipality = municipality
                    if phone is not None:
                        person.phone = phone
                    person.profile_complete = True
                    session.add(
                        AuditEntry(
                            actor="operator",
                            action="staff_added",
                            subject=user_id,
                            details={"role": role},
                        )
                    )

            if matrix_id is None:

                async def taken(user_id: str) -> bool:
                    async with db.session() as session:
                        found = await session.scalar(
                            select(Person.id).where(Person.matrix_id == user_id)
                        )
                    return found is not None

                matrix_id, password, _ = await create_account(
                    admin,
                    server_name=settings.synapse.server_name,
                    display_name=display_name,
                    fallback="staff",
                    taken_here=taken,
                    then=store,
                )
            else:
                # Someone on an allowed federated server (an organisation's coordinator)
                # has their account there; one on this server must have it here.
                if is_own(matrix_id, settings.synapse) and await admin.get_user(matrix_id) is None:
                    raise LookupError(f"{matrix_id} has no account on this homeserver")
                await store(matrix_id)
            invited = False
            if role == "coordinator":
                invited = await _bring_into_coordinators_room(settings, db, admin, matrix_id)
            return StaffAdded(matrix_id, password, invited)
    finally:
        await db.close()


async def _bring_into_coordinators_room(
    settings: Settings, db: Database, admin: SynapseAdmin, user_id: str
) -> bool:
    """Invite a coordinator and give them power 50, acting as the matchmaker."""
    async with db.session() as session:
        fact = await session.get(DeploymentFact, FACT_COORDINATORS_ROOM)
    creds = BotCredentials.load(credentials_path(settings, "matchmaker"))
    if fact is None or creds is None:
        return False
    room = quote(fact.value)
    token = creds.access_token
    levels = await admin.request(
        "GET", f"/_matrix/client/v3/rooms/{room}/state/m.room.power_levels/", token=token
    )
    if levels.get("users", {}).get(user_id, 0) < COORDINATOR_POWER:
        levels.setdefault("users", {})[user_id] = COORDINATOR_POWER
        await admin.request(
            "PUT",
            f"/_matrix/client/v3/rooms/{room}/state/m.room.power_levels/",
            token=token,
            json=levels,
        )
    members = await admin.request(
        "GET", f"/_matrix/client/v3/rooms/{room}/joined_members", token=token
    )
    if user_id in members.get("joined", {}):
        return False
    await admin.request(
        "POST", f"/_matrix/client/v3/rooms/{room}/invite", token=token, json={"user_id": user_id}
    )
    return True
