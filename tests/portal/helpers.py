"""What the portal's tests share: staff members, signing in, forms and their tokens."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from connec.db import Database
from connec.models import AuditEntry, Person
from tests.harness import Account, SynapseHarness

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_ERRORS = re.compile(r'class="error-message" id="([\w-]+)-error"')


@dataclass(frozen=True)
class Member:
    """A person with a Matrix account and a row in connec's people table."""

    account: Account
    person_id: int
    role: str
    municipality: str | None

    @property
    def user_id(self) -> str:
        return self.account.user_id

    @property
    def localpart(self) -> str:
        return self.user_id.removeprefix("@").split(":", 1)[0]


async def add_member(
    synapse: SynapseHarness,
    database: Database,
    name: str,
    role: str,
    municipality: str | None = None,
    **fields: Any,
) -> Member:
    """Register an account and give it a role in connec, as an operator would."""
    account = await synapse.register(name, displayname=name.capitalize())
    async with database.session() as session:
        person = Person(
            matrix_id=account.user_id,
            role=role,
            display_name=fields.pop("display_name", name.capitalize()),
            municipality=municipality,
            **fields,
        )
        session.add(person)
        await session.flush()
        person_id = person.id
    return Member(account, person_id, role, municipality)


def token_in(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = _TOKEN.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def fields_in_error(html: str) -> set[str]:
    """The fields a page shows an error next to."""
    return set(_ERRORS.findall(html))


async def token_for(client: TestClient, path: str) -> str:
    """Open a page and take the CSRF token of its form, as a browser would."""
    response = await client.get(path)
    assert response.status == 200, path
    return token_in(await response.text())


async def sign_in(client: TestClient, member: Member | Account, password: str | None = None) -> Any:
    """Sign in through the portal's form; answers the response to the post (not followed)."""
    account = member.account if isinstance(member, Member) else member
    token = await token_for(client, "/log-ind")
    return await client.post(
        "/log-ind",
        data={
            "csrf_token": token,
            "user": account.user_id,
            "password": password or account.password,
        },
        allow_redirects=False,
    )


async def signed_in(client: TestClient, member: Member) -> None:
    response = await sign_in(client, member)
    assert response.status == 303, await response.text()


def form(pairs: Iterable[tuple[str, str]] | dict[str, Any]) -> list[tuple[str, str]]:
    """Form data as pairs; a list value becomes several fields of the same name."""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    out: list[tuple[str, str]] = []
    for name, value in items:
        if isinstance(value, list | tuple):
            out.extend((name, str(v)) for v in value)
        else:
            out.append((name, str(value)))
    return out


def volunteer_form(**changes: Any) -> dict[str, Any]:
    """A complete, valid volunteer sign-up; ``changes`` replace or remove (None) fields."""
    values: dict[str, Any] = {
        "name": "Anna Jensen",
        "email": "anna@example.dk",
        "phone": "20 30 40 50",
        "birth_day": "24",
        "birth_month": "12",
        "birth_year": "1990",
        "municipality": "Aarhus",
        "postcode": "8000",
        "gender": "female",
        "languages": ["da", "en"],
        "interests": ["jazz", "gardening"],
        "interest_words": "Kim Larsen, min kolonihave",
        "contact_modes": ["chat", "video"],
        "availability": ["tue-am", "thu-pm"],
        "capacity": "2",
        "motivation": "Jeg kan godt lide at snakke med ældre mennesker.",
        "organisation": "Røde Kors",
        "consent": "yes",
    }
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return values


def citizen_form(**changes: Any) -> dict[str, Any]:
    """A complete, valid citizen enrolment; ``changes`` replace or remove (None) fields."""
    values: dict[str, Any] = {
        "name": "Karen Hansen",
        "birth_year": "1946",
        "gender": "female",
        "postcode": "8200",
        "language": "da",
        "languages": ["da"],
        "interests": ["gardening", "knitting"],
        "interest_words": "gamle Morris Minor-biler",
        "about": "Har altid boet i Aarhus.",
        "contact_modes": ["voice", "video"],
        "availability": ["mon-am", "wed-pm"],
        "partner_gender": "",
        "age_min": "",
        "age_max": "",
        "distance": "anywhere",
        "consent": "yes",
    }
    for key, value in changes.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    return values


async def audit_actions(database: Database, **where: Any) -> list[AuditEntry]:
    """Audit lines matching ``where`` (column=value), oldest first."""
    async with database.session() as session:
        query = select(AuditEntry).order_by(AuditEntry.id)
        for column, value in where.items():
            query = query.where(getattr(AuditEntry, column) == value)
        return list(await session.scalars(query))


async def person_by_id(database: Database, person_id: int) -> Person | None:
    async with database.session() as session:
        return await session.get(Person, person_id)


async def person_named(database: Database, display_name: str) -> list[Person]:
    async with database.session() as session:
        return list(
            await session.scalars(select(Person).where(Person.display_name == display_name))
        )


def now() -> datetime:
    return datetime.now(UTC)
