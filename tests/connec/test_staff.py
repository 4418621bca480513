"""An operator adds staff: a frontline worker for a municipality, and a coordinator."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connec.db import Database
from connec.models import Person
from connec.staff import add_staff
from tests.harness import SynapseHarness

pytestmark = pytest.mark.synapse


async def test_a_frontline_worker_gets_an_account_and_a_municipality(
    synapse: SynapseHarness,
) -> None:
    added = await add_staff(
        synapse.settings,
        display_name="Mette Holm",
        role="frontline",
        municipality="Aarhus",
        phone="20 30 40 50",
    )
    assert added.user_id.startswith("@mette.holm") and added.password
    login = await synapse.admin.login(added.user_id, added.password)
    assert login["user_id"] == added.user_id
    db = Database(synapse.settings.db_url)
    async with db.session() as session:
        person = await session.scalar(select(Person).where(Person.matrix_id == added.user_id))
    await db.close()
    assert person is not None and (person.role, person.municipality) == ("frontline", "Aarhus")
    assert person.phone == "20 30 40 50"  # printed on the letters Mette makes

    # Adding the same person again changes their record, never a second account.
    again = await add_staff(
        synapse.settings,
        display_name="Mette Holm",
        role="frontline",
        municipality="Odense",
        matrix_id=added.user_id,
    )
    assert again.user_id == added.user_id and again.password is None


async def test_a_coordinator_is_invited_with_a_coordinators_power(
    synapse: SynapseHarness,
) -> None:
    added = await add_staff(
        synapse.settings, display_name="Jonas Berg", role="coordinator", municipality=None
    )
    assert added.invited
    room_id = synapse.facts["coordinators_room_id"]
    state = await synapse.admin.admin("GET", f"/v1/rooms/{room_id}/state")
    by_type = {(e["type"], e["state_key"]): e["content"] for e in state["state"]}
    assert by_type[("m.room.member", added.user_id)]["membership"] == "invite"
    assert by_type[("m.room.power_levels", "")]["users"][added.user_id] == 50


async def test_bad_staff_details_are_refused_plainly(synapse: SynapseHarness) -> None:
    with pytest.raises(ValueError, match="frontline worker enrols"):
        await add_staff(synapse.settings, display_name="X", role="frontline", municipality=None)
    with pytest.raises(ValueError, match="98 municipalities"):
        await add_staff(
            synapse.settings, display_name="X", role="coordinator", municipality="Atlantis"
        )
    with pytest.raises(LookupError):
        await add_staff(
            synapse.settings,
            display_name="X",
            role="coordinator",
            municipality=None,
            matrix_id="@nobody:connec.test",
        )
