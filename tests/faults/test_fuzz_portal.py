"""Every form of the portal, filled with what hypothesis makes up: arbitrary Unicode,
long text, markup, fields missing or repeated. No answer is a 500, and a form that is
refused stores nothing.

Layer: the real aiohttp app with its real database on the session's Synapse (a citizen
enrolled by a fuzzed form that passes gets a real account), through aiohttp's test
client. The number of examples is kept small for CI; CONNEC_FUZZ_EXAMPLES raises it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from connec.db import Database
from connec.models import AuditEntry, Person
from portal.app import make_app
from tests.harness import SynapseHarness
from tests.portal.helpers import (
    Member,
    add_member,
    citizen_form,
    form,
    sign_in,
    token_in,
    volunteer_form,
)

pytestmark = pytest.mark.synapse

EXAMPLES = int(os.environ.get("CONNEC_FUZZ_EXAMPLES", "25"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

MARKUP = st.sampled_from(
    [
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "{{ 7*7 }}",
        "{% raw %}",
        "=cmd|' /C calc'!A0",
        "@room",
        "'; DROP TABLE people; --",
        "\u202eevil",
        "\x00",
        "\ud800",
        "",
    ]
)
TEXT = st.one_of(
    st.text(max_size=60),
    MARKUP,
    st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=8), st.integers(100, 20_000)),
)


def changes(fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Some fields replaced by made-up values (a list: the field repeated), or left out."""
    value = st.one_of(TEXT, st.lists(TEXT, max_size=4), st.none())
    return st.dictionaries(st.sampled_from(fields), value, min_size=1, max_size=len(fields))


def clean(values: dict[str, Any]) -> list[tuple[str, str]]:
    # A lone surrogate cannot even be encoded by a browser; it becomes "?" as it would.
    return [(k, v.encode("utf-8", "replace").decode("utf-8", "replace")) for k, v in form(values)]


async def people_count(database: Database) -> tuple[int, int]:
    async with database.session() as session:
        people = await session.scalar(select(func.count()).select_from(Person))
        audit = await session.scalar(select(func.count()).select_from(AuditEntry))
    return int(people or 0), int(audit or 0)


@pytest.fixture
async def client(synapse: SynapseHarness) -> AsyncIterator[TestClient]:
    made = TestClient(TestServer(make_app(synapse.settings)))
    await made.start_server()
    yield made
    await made.close()


@pytest.fixture
async def database(synapse: SynapseHarness) -> AsyncIterator[Database]:
    made = Database(synapse.settings.db_url)
    yield made
    await made.close()


async def post(client: TestClient, path: str, page: str, values: list[tuple[str, str]]) -> Any:
    token = token_in(await (await client.get(page)).text())
    return await client.post(path, data=[("csrf_token", token), *values], allow_redirects=False)


async def refused_stores_nothing(
    client: TestClient, database: Database, path: str, page: str, values: dict[str, Any]
) -> None:
    before = await people_count(database)
    response = await post(client, path, page, clean(values))
    text = await response.text()
    assert response.status < 500, (values, text[:300])
    if response.status != 303:  # shown again with its mistakes, or refused
        assert await people_count(database) == before, values


@FUZZ
@given(made_up=changes([*volunteer_form(), "step", "go"]))
@example(made_up={"step": "1 or 2", "go": "<b>send</b>"})
async def test_the_volunteer_sign_up_never_breaks_and_a_refused_one_stores_nothing(
    client: TestClient, database: Database, made_up: dict[str, Any]
) -> None:
    values = volunteer_form(**{k: v for k, v in made_up.items() if v is not None})
    for gone in [k for k, v in made_up.items() if v is None]:
        values.pop(gone, None)
    await refused_stores_nothing(client, database, "/frivillig", "/frivillig", values)


@FUZZ
@given(user=TEXT, password=TEXT, nxt=TEXT)
async def test_sign_in_never_breaks(
    client: TestClient, database: Database, user: str, password: str, nxt: str
) -> None:
    values = {"user": user, "password": password, "next": nxt}
    before = await people_count(database)
    response = await post(client, "/log-ind", "/log-ind", clean(values))
    assert response.status < 500
    assert response.status != 303 or not response.headers["Location"].startswith("//")
    assert (await people_count(database))[0] == before[0]


@pytest.fixture
async def frontline(synapse: SynapseHarness, database: Database, client: TestClient) -> Member:
    worker = await add_member(synapse, database, "fuzz-frida", "frontline", "Aarhus")
    assert (await sign_in(client, worker)).status == 303
    return worker


@FUZZ
@given(made_up=changes(list(citizen_form())))
async def test_enrolment_never_breaks_and_a_refused_one_stores_nothing(
    client: TestClient, database: Database, frontline: Member, made_up: dict[str, Any]
) -> None:
    values = citizen_form(**{k: v for k, v in made_up.items() if v is not None})
    for gone in [k for k, v in made_up.items() if v is None]:
        values.pop(gone, None)
    await refused_stores_nothing(client, database, "/borgere/ny", "/borgere/ny", values)


@pytest.fixture
async def coordinator(synapse: SynapseHarness, database: Database, client: TestClient) -> Member:
    member = await add_member(synapse, database, "fuzz-anne", "coordinator", None)
    assert (await sign_in(client, member)).status == 303
    return member


@FUZZ
@given(reason=TEXT, person=TEXT)
async def test_rejecting_a_volunteer_with_any_words_or_any_number_never_breaks(
    client: TestClient, database: Database, coordinator: Member, reason: str, person: str
) -> None:
    path = "/koordinator/frivillige/{}/afvis".format(
        "".join(c for c in person if c.isascii() and c.isalnum())[:12] or "0"
    )
    response = await post(client, path, "/koordinator", clean({"reason": reason}))
    assert response.status < 500, (path, reason)
