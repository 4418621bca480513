"""An operator initialises a data folder: secrets private, and a second run changes nothing."""

from __future__ import annotations

import stat

import pytest

from tests.harness import SynapseHarness

pytestmark = pytest.mark.synapse


def test_secret_files_are_private(synapse: SynapseHarness) -> None:
    paths = synapse.settings.paths
    for path in (
        paths.secrets,
        paths.homeserver_yaml,
        paths.coordinator_password,
        paths.bot("matchmaker") / "credentials.json",
    ):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == 0o600, f"{path} has mode {oct(mode)}"


async def test_init_twice_changes_nothing(synapse: SynapseHarness) -> None:
    from connec.provision import prepare_files, provision_accounts

    paths = synapse.settings.paths
    watched = [
        paths.secrets,
        paths.signing_key,
        paths.coordinator_password,
        paths.bot("matchmaker") / "credentials.json",
        paths.config,
    ]
    before = {path: path.read_bytes() for path in watched}
    secrets = prepare_files(synapse.settings)
    facts = await provision_accounts(synapse.settings, secrets)
    assert facts == synapse.facts
    assert {path: path.read_bytes() for path in watched} == before


async def test_bots_are_bots_and_coordinator_leads_the_room(synapse: SynapseHarness) -> None:
    for bot in ("matchmaker", "scheduler"):
        user = await synapse.admin.get_user(synapse.settings.user_id(bot))
        assert user is not None and user["user_type"] == "bot"
    room_id = synapse.facts["coordinators_room_id"]
    state = await synapse.admin.admin("GET", f"/v1/rooms/{room_id}/state")
    by_type = {(e["type"], e["state_key"]): e for e in state["state"]}
    create = by_type[("m.room.create", "")]
    assert create["sender"] == synapse.settings.user_id("coordinator")
    assert ("m.room.encryption", "") in by_type
    # Other stories invite people into this room (new coordinators, a member without
    # power), so what init made is checked, not who else is there now.
    members = {
        key
        for (kind, key), e in by_type.items()
        if kind == "m.room.member" and e["content"]["membership"] == "join"
    }
    matchmaker, scheduler = (synapse.settings.user_id(bot) for bot in ("matchmaker", "scheduler"))
    assert {synapse.settings.user_id("coordinator"), matchmaker, scheduler} <= members
    power = by_type[("m.room.power_levels", "")]["content"]
    assert power["users"][matchmaker] == 100 and power["users"][scheduler] == 50
