"""User names people can type, and first passwords they can read off a letter."""

from __future__ import annotations

import io
import re
import secrets
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from connec.accounts import (
    PASSWORD_ALPHABET,
    create_account,
    first_password,
    localpart_base,
    localpart_candidates,
)
from connec.cli import _create_accounts
from connec.db import Database
from connec.first_passwords import FirstPasswords
from connec.models import Person
from tests.harness import SynapseHarness


def test_user_names_come_from_first_and_last_name_in_plain_letters() -> None:
    assert localpart_base("Karen Hansen", "borger") == "karen.hansen"
    assert localpart_base("Søren Ågård Ørsted", "borger") == "soeren.oersted"
    assert localpart_base("  Zoë   Müller-Lüdenscheidt ", "borger") == "zoe.ludenscheidt"
    assert localpart_base("Mette", "borger") == "mette"
    assert localpart_base("محمد", "borger") == "borger"


def test_taken_names_get_a_number() -> None:
    candidates = list(localpart_candidates("Karen Hansen", "borger"))
    assert candidates[:3] == ["karen.hansen", "karen.hansen2", "karen.hansen3"]
    assert len(set(candidates)) == len(candidates)


def test_first_passwords_are_four_groups_of_unmistakable_characters() -> None:
    passwords = {first_password() for _ in range(200)}
    assert len(passwords) == 200
    for password in passwords:
        assert re.fullmatch(
            rf"[{PASSWORD_ALPHABET}]{{4}}(-[{PASSWORD_ALPHABET}]{{4}}){{3}}", password
        )
    assert not set("01ilo") & set(PASSWORD_ALPHABET)


@pytest.mark.synapse
async def test_first_passwords_never_reach_the_log(
    synapse: SynapseHarness, json_logs: io.StringIO, tmp_path: Path
) -> None:
    """The two ways connec makes accounts: the portal's (and `connec staff add`'s), and
    `connec people import --create-accounts` for imported people."""

    async def free(user_id: str) -> bool:
        return False

    async def stored(user_id: str, password: str) -> None:
        return None

    _, portal_password, _ = await create_account(
        synapse.admin,
        server_name=synapse.server_name,
        display_name=f"Ingrid Logfri {secrets.token_hex(3)}",
        fallback="borger",
        taken_here=free,
        then=stored,
    )

    # An import into the session's database, from a data folder of its own, so the
    # file of first passwords it writes is this test's.
    shutil.copy(synapse.settings.paths.secrets, tmp_path / "secrets.toml")
    settings = synapse.settings.model_copy(
        update={"data_dir": tmp_path, "database_url": synapse.settings.db_url}
    )
    imported = [synapse.settings.user_id(f"importeret-{secrets.token_hex(3)}") for _ in "ab"]
    db = Database(settings.db_url)
    try:
        async with db.session() as session:
            for n, user_id in enumerate(imported):
                session.add(
                    Person(matrix_id=user_id, role="citizen", display_name=f"Importeret {n}")
                )
        made = await _create_accounts(settings, imported)
    finally:
        async with db.session() as session:
            for person in await session.scalars(
                select(Person).where(Person.matrix_id.in_(imported))
            ):
                person.state = "ended"
        await db.close()
    assert made.made == imported
    passwords = FirstPasswords(settings.paths.first_passwords).read()
    assert set(imported) <= set(passwords)

    logged = json_logs.getvalue()
    for password in (portal_password, *(passwords[user_id] for user_id in imported)):
        assert password not in logged
