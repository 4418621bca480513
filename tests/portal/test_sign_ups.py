"""A batch of sign-ups is stored in one go: names that clash with each other or with
people connec knows get numbered user names, and every person gets their audit line."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from connec.db import make_sync_engine, migrate
from connec.models import AuditEntry, Person
from connec.settings import load_settings
from portal.forms import VolunteerSignUp, check_volunteer
from portal.sign_ups import PendingSignUp, store_sign_ups
from tests.portal.helpers import volunteer_form

SERVER = "connec.test"


def signed_up(name: str, **changes: object) -> VolunteerSignUp:
    values = {k: v if isinstance(v, list) else [v] for k, v in volunteer_form(name=name).items()}
    checked = check_volunteer(
        values, today=datetime.now(UTC).date(), server_name=SERVER, federation_allowlist=[]
    )
    assert checked.value is not None
    return replace(checked.value, **changes)


async def test_a_batch_with_clashing_names_is_stored_whole_in_one_transaction(
    tmp_path: Path,
) -> None:
    settings = load_settings(tmp_path)
    migrate(settings.db_url)
    engine = make_sync_engine(settings.db_url)
    now = datetime.now(UTC)

    def pending(sign_up: VolunteerSignUp) -> PendingSignUp:
        return PendingSignUp(sign_up, "da", "Europe/Copenhagen", now)

    first = [
        pending(signed_up("Anna Jensen")),
        pending(signed_up("Bo Hansen", matrix_id=f"@bo.hansen2:{SERVER}")),
    ]
    with engine.begin() as connection:
        store_sign_ups(connection, first, SERVER)
    batch = [
        pending(signed_up("Anna Jensen")),  # taken already
        pending(signed_up("Anna Jensen")),  # and wanted twice in this batch
        pending(signed_up("Bo Hansen")),  # free, but wanted twice, and the 2 is taken
        pending(signed_up("Bo Hansen")),
        pending(signed_up("Anna Jensen", matrix_id=f"@anna.jensen:{SERVER}")),  # known ID
    ]
    with engine.begin() as connection:  # one transaction: nothing is retried one by one
        store_sign_ups(connection, batch, SERVER)

    with engine.connect() as connection:
        people = dict(connection.execute(select(Person.matrix_id, Person.id)).all())
        lines = connection.execute(
            select(AuditEntry.action, AuditEntry.subject, AuditEntry.person_id)
        ).all()
    engine.dispose()
    assert set(people) == {
        f"@anna.jensen:{SERVER}",
        f"@anna.jensen2:{SERVER}",
        f"@anna.jensen3:{SERVER}",
        f"@bo.hansen:{SERVER}",
        f"@bo.hansen2:{SERVER}",
        f"@bo.hansen3:{SERVER}",
    }
    signed = {
        (subject, person_id)
        for action, subject, person_id in lines
        if action == "volunteer_signed_up"
    }
    assert signed == set(people.items())  # each line points at its own person
    [ignored] = [line for line in lines if line.action == "volunteer_sign_up_ignored"]
    assert ignored.person_id == people[f"@anna.jensen:{SERVER}"]
