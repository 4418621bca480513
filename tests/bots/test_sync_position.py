"""A bot starting on a story's own database starts where its stream stands now."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from connec.provision import BotCredentials, credentials_path
from tests.bots.conftest import sync_position_now
from tests.harness import SynapseHarness

pytestmark = pytest.mark.synapse


async def test_the_position_is_fresh_even_when_asked_again_within_synapses_cache_time(
    synapse: SynapseHarness,
) -> None:
    first = await sync_position_now(synapse, "matchmaker")
    # Something moves the bot's stream on (account data nobody reads, so no bot acts).
    creds = BotCredentials.load(credentials_path(synapse.settings, "matchmaker"))
    assert creds is not None
    await synapse.admin.request(
        "PUT",
        f"/_matrix/client/v3/user/{quote(creds.user_id)}/account_data/connec.tests.moved",
        token=creds.access_token,
        json={"first": first},
    )
    # Seconds later, well inside the two minutes Synapse keeps a /sync answer.
    assert await sync_position_now(synapse, "matchmaker") != first
