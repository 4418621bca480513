"""Every portal route, for every role, for a worker of another municipality and for
someone of another server: the whole matrix, made from the portal's own route table.

A route added to ``portal/routes.py`` without a line in ``ACCESS`` fails this file, so
nobody can forget to say who may use it. Requests go through the real app on the
session's Synapse and database, signed in through the real sign-in form, with a valid
CSRF token (so a refusal is the guard's, not the token's).

Posts that would change something for someone allowed (approve, reject, a new first
password, erasure, signing out) are sent only by those who must be refused; what they
do for those allowed is told in their own stories (tests/portal/).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from connec.db import Database
from portal.app import make_app
from portal.routes import setup_routes
from tests.harness import SynapseHarness
from tests.portal.helpers import Member, add_member, sign_in, token_in

pytestmark = pytest.mark.synapse

ANYONE = "anyone"
SIGNED_IN = "signed in"

# Who gets in: ANYONE, SIGNED_IN, or the identities named (see IDENTITIES). Everyone
# else signed in gets 403, and someone not signed in is sent to sign in.
ACCESS: dict[tuple[str, str], str | frozenset[str]] = {
    ("GET", "/"): ANYONE,
    ("GET", "/sprog/{lang}"): ANYONE,
    ("GET", "/health"): ANYONE,
    ("GET", "/metrics"): ANYONE,  # from this machine only (tests/portal/test_app.py)
    ("GET", "/frivillig"): ANYONE,
    ("POST", "/frivillig"): ANYONE,
    ("GET", "/frivillig/tak"): ANYONE,
    ("GET", "/log-ind"): ANYONE,
    ("POST", "/log-ind"): ANYONE,
    ("POST", "/log-ud"): ANYONE,
    ("GET", "/borgere"): frozenset({"frontline", "frontline elsewhere"}),
    ("GET", "/borgere/ny"): frozenset({"frontline", "frontline elsewhere"}),
    ("POST", "/borgere/ny"): frozenset({"frontline", "frontline elsewhere"}),
    ("GET", "/borgere/{person_id}/velkomstbrev"): frozenset({"frontline"}),
    ("GET", "/borgere/{person_id}/ny-adgangskode"): frozenset({"frontline"}),
    ("POST", "/borgere/{person_id}/ny-adgangskode"): frozenset({"frontline"}),
    ("GET", "/kom-i-gang"): ANYONE,
    ("GET", "/koordinator"): frozenset(
        {"coordinator", "coordinator elsewhere", "national coordinator"}
    ),
    # Each coordinator sees the report of their own municipality (another is refused
    # by tests/portal/test_evidence.py).
    ("GET", "/koordinator/rapport"): frozenset(
        {"coordinator", "coordinator elsewhere", "national coordinator"}
    ),
    ("GET", "/koordinator/rapport.csv"): frozenset(
        {"coordinator", "coordinator elsewhere", "national coordinator"}
    ),
    ("POST", "/koordinator/frivillige/{person_id}/godkend"): frozenset(
        {"coordinator", "national coordinator"}
    ),
    ("GET", "/koordinator/frivillige/{person_id}/godkendt"): frozenset(
        {"coordinator", "national coordinator"}
    ),
    ("POST", "/koordinator/frivillige/{person_id}/afvis"): frozenset(
        {"coordinator", "national coordinator"}
    ),
    ("GET", "/mine-data"): SIGNED_IN,
    ("GET", "/mine-data/oversigt"): SIGNED_IN,
    ("GET", "/mine-data/download"): SIGNED_IN,
    ("POST", "/mine-data/slet"): frozenset({"citizen", "volunteer"}),
    ("GET", "/mine-data/slettet"): ANYONE,
    ("GET", "/element/home"): ANYONE,
    ("GET", "/element/welcome"): ANYONE,
    ("GET", "/element/themes"): ANYONE,
}
# What a post carries besides its CSRF token: enough to pass the form's own checks, so
# that a refusal can only come from who is asking.
BODIES = {("POST", "/mine-data/slet"): {"confirm": "yes"}}
# Allowed posts not sent here: they change something (see the module's docstring).
CHANGES = {
    ("POST", "/log-ud"),
    ("POST", "/borgere/{person_id}/ny-adgangskode"),
    ("POST", "/koordinator/frivillige/{person_id}/godkend"),
    ("POST", "/koordinator/frivillige/{person_id}/afvis"),
    ("POST", "/mine-data/slet"),
}


@dataclass(frozen=True)
class Identity:
    name: str
    role: str | None  # None: not signed in
    municipality: str | None = None


# Aarhus is "ours": the citizen and the volunteers in the paths live there.
IDENTITIES = (
    Identity("not signed in", None),
    Identity("citizen", "citizen", "Aarhus"),
    Identity("volunteer", "volunteer", "Aarhus"),
    Identity("frontline", "frontline", "Aarhus"),
    Identity("frontline elsewhere", "frontline", "Odense"),
    Identity("coordinator", "coordinator", "Aarhus"),
    Identity("coordinator elsewhere", "coordinator", "Odense"),
    Identity("national coordinator", "coordinator", None),
)


def routes() -> list[tuple[str, str]]:
    """Every (method, path) of the portal's one route table (static files aside)."""
    app = web.Application()
    setup_routes(app)
    found = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if path is None or route.method == "HEAD":
            continue  # static files (no guard, no data)
        found.append((route.method, path))
    return sorted(set(found))


def test_every_route_of_the_portal_says_who_may_use_it() -> None:
    assert set(routes()) == set(ACCESS), (
        "a route was added or removed: say in ACCESS who may use it"
    )


def expected(identity: Identity, access: str | frozenset[str]) -> str:
    if access == ANYONE:
        return "in"
    if identity.role is None:
        return "sign in"
    if access == SIGNED_IN or identity.name in access:
        return "in"
    return "refused"


def outcome_of(status: int, location: str) -> str:
    if status == 303 and location.startswith("/log-ind"):
        return "sign in"
    if status == 403:
        return "refused"
    if status >= 500:
        return f"broken ({status})"
    # 400: the form was reached and shows its mistakes (an empty form has many).
    return "in" if status <= 400 else f"other ({status})"


async def test_the_whole_matrix_every_route_for_every_role_elsewhere_and_another_server(
    synapse: SynapseHarness,
) -> None:
    database = Database(synapse.settings.db_url)
    people: dict[str, Member] = {}
    for identity in IDENTITIES[1:]:
        people[identity.name] = await add_member(
            synapse,
            database,
            identity.name.replace(" ", "-"),
            identity.role or "",
            identity.municipality,
            **({"approval": "approved"} if identity.role == "volunteer" else {}),
        )
    citizen = people["citizen"].person_id
    pending = await add_member(
        synapse, database, "waiting", "volunteer", "Aarhus", approval="pending"
    )
    approved = people["volunteer"].person_id
    targets: dict[str, Callable[[str], int]] = {
        "/borgere/": lambda _: citizen,
        "/koordinator/frivillige/": lambda path: (
            approved if path.endswith("godkendt") else pending.person_id
        ),
    }

    def concrete(path: str) -> str:
        for prefix, target in targets.items():
            if path.startswith(prefix) and "{person_id}" in path:
                return path.replace("{person_id}", str(target(path)))
        return path.replace("{lang}", "en")

    wrong: list[str] = []
    checked = 0
    for identity in IDENTITIES:
        client = TestClient(TestServer(make_app(synapse.settings)))
        await client.start_server()
        try:
            if identity.role is not None:
                answer = await sign_in(client, people[identity.name])
                assert answer.status == 303, identity
            for method, path in routes():
                want = expected(identity, ACCESS[(method, path)])
                if method == "POST" and want == "in" and (method, path) in CHANGES:
                    continue
                page = await client.get("/log-ind" if identity.role is None else "/")
                token = token_in(await page.text())
                url = concrete(path)
                if method == "GET":
                    response = await client.get(url, allow_redirects=False)
                else:
                    response = await client.post(
                        url,
                        data={"csrf_token": token, **BODIES.get((method, path), {})},
                        allow_redirects=False,
                    )
                got = outcome_of(response.status, response.headers.get("Location", ""))
                checked += 1
                if got != want:
                    wrong.append(f"{identity.name} {method} {url}: {got}, expected {want}")
        finally:
            await client.close()
    await database.close()
    assert wrong == [], "\n".join(wrong)
    assert checked > len(ACCESS) * 6


async def test_someone_of_another_server_cannot_sign_in_to_the_portal(
    synapse: SynapseHarness,
) -> None:
    """A Matrix ID on a server that is not ours, even one connec knows as a coordinator,
    gets no session: the portal only asks our own Synapse."""
    database = Database(synapse.settings.db_url)
    from connec.models import Person

    foreign = "@mallory:elsewhere.example"
    async with database.session() as session:
        session.add(Person(matrix_id=foreign, role="coordinator", display_name="Mallory"))
    client = TestClient(TestServer(make_app(synapse.settings)))
    await client.start_server()
    try:
        token = token_in(await (await client.get("/log-ind")).text())
        answer = await client.post(
            "/log-ind",
            data={"csrf_token": token, "user": foreign, "password": "anything at all"},
            allow_redirects=False,
        )
        assert answer.status < 500 and answer.status != 303
        dashboard = await client.get("/koordinator", allow_redirects=False)
        assert dashboard.status == 303 and dashboard.headers["Location"].startswith("/log-ind")
    finally:
        await client.close()
        await database.close()
