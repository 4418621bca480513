"""A bot's device is cross-signed by the bot's own identity, as Element requires.

The stories run against the real Synapse of the test session; the last few check
:func:`verify_chain` itself on a chain made locally (they need no server, but share
the module's ``synapse`` mark).
"""

from __future__ import annotations

import copy
import json
import logging
import stat
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import nio
import pytest
from signedjson.key import encode_verify_key_base64, generate_signing_key, get_verify_key
from signedjson.sign import sign_json

from bots.common.cross_signing import (
    CrossSigningKeys,
    CrossSigningOutcome,
    ensure_cross_signed,
    verify_chain,
)
from tests.harness import Account, SynapseHarness

pytestmark = pytest.mark.synapse

StartBot = Callable[[], Awaitable[nio.AsyncClient]]


@pytest.fixture
async def bot(synapse: SynapseHarness) -> Account:
    """A bot account, as `connec init` makes them."""
    return await synapse.register("bot", user_type="bot")


@pytest.fixture
async def start_bot(
    synapse: SynapseHarness, bot: Account, tmp_path: Path
) -> AsyncIterator[StartBot]:
    """Start the bot's one device as the bot does on each start.

    Every call is a fresh AsyncClient restoring the same login and crypto store, then
    publishing device keys if the store has not yet. The login from registration is
    reused, so no password logins are made (Synapse rate-limits those per address).
    """
    store = tmp_path / "bot-store"
    store.mkdir()
    clients: list[nio.AsyncClient] = []

    async def start() -> nio.AsyncClient:
        client = nio.AsyncClient(
            synapse.url,
            bot.user_id,
            device_id=bot.device_id,
            store_path=str(store),
            config=nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
        )
        clients.append(client)
        client.restore_login(bot.user_id, bot.device_id, bot.access_token)
        if client.should_upload_keys:
            response = await client.keys_upload()
            assert isinstance(response, nio.KeysUploadResponse), response
        return client

    yield start
    for client in clients:
        await client.close()


async def keys_seen_by(synapse: SynapseHarness, viewer: nio.AsyncClient, user_id: str) -> Any:
    """A raw /keys/query for ``user_id``, asked by another person's client."""
    return await synapse.admin.request(
        "POST",
        "/_matrix/client/v3/keys/query",
        token=viewer.access_token,
        json={"device_keys": {user_id: []}},
    )


def master_key_in(keys_query_response: dict[str, Any], user_id: str) -> str:
    (public,) = keys_query_response["master_keys"][user_id]["keys"].values()
    return str(public)


async def test_karen_sees_the_bots_device_cross_signed_and_a_restart_changes_nothing(
    synapse: SynapseHarness,
    person: Callable[..., Awaitable[nio.AsyncClient]],
    bot: Account,
    start_bot: StartBot,
    tmp_path: Path,
) -> None:
    keys_path = tmp_path / "cross-signing.json"
    karen = await person("karen")

    first = await ensure_cross_signed(await start_bot(), password=bot.password, keys_path=keys_path)

    assert first.outcome is CrossSigningOutcome.CREATED
    assert stat.S_IMODE(keys_path.stat().st_mode) == 0o600
    seen = await keys_seen_by(synapse, karen, bot.user_id)
    assert verify_chain(seen, bot.user_id, bot.device_id)
    assert master_key_in(seen, bot.user_id) == first.master_key

    # The bot starts again: new client, same login and store.
    stored_before = keys_path.read_text()
    again = await ensure_cross_signed(await start_bot(), password=bot.password, keys_path=keys_path)

    assert again.outcome is CrossSigningOutcome.ALREADY_DONE
    assert not again.changed
    assert again.master_key == first.master_key
    assert keys_path.read_text() == stored_before
    seen_again = await keys_seen_by(synapse, karen, bot.user_id)
    assert master_key_in(seen_again, bot.user_id) == first.master_key
    assert verify_chain(seen_again, bot.user_id, bot.device_id)


async def test_a_replaced_self_signing_key_is_published_with_the_bots_password(
    synapse: SynapseHarness,
    person: Callable[..., Awaitable[nio.AsyncClient]],
    bot: Account,
    start_bot: StartBot,
    tmp_path: Path,
) -> None:
    keys_path = tmp_path / "cross-signing.json"
    karen = await person("karen")
    client = await start_bot()
    first = await ensure_cross_signed(client, password=bot.password, keys_path=keys_path)

    # Same master key, a new self-signing key: changing a published identity needs
    # user-interactive auth, which the bot answers with its password.
    kept = CrossSigningKeys.load(keys_path)
    assert kept is not None
    CrossSigningKeys(
        kept.user_id,
        kept.master,
        CrossSigningKeys.generate(bot.user_id).self_signing,
        kept.user_signing,
    ).save(keys_path)

    result = await ensure_cross_signed(client, password=bot.password, keys_path=keys_path)

    assert result.outcome is CrossSigningOutcome.DEVICE_SIGNED
    assert result.master_key == first.master_key
    assert verify_chain(await keys_seen_by(synapse, karen, bot.user_id), bot.user_id, bot.device_id)


async def test_lost_keys_are_reported_not_fatal_and_can_be_replaced(
    synapse: SynapseHarness,
    person: Callable[..., Awaitable[nio.AsyncClient]],
    bot: Account,
    start_bot: StartBot,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    keys_path = tmp_path / "cross-signing.json"
    karen = await person("karen")
    client = await start_bot()
    first = await ensure_cross_signed(client, password=bot.password, keys_path=keys_path)
    keys_path.unlink()

    with caplog.at_level(logging.WARNING, logger="bots.common.cross_signing"):
        lost = await ensure_cross_signed(client, password=bot.password, keys_path=keys_path)

    assert lost.outcome is CrossSigningOutcome.KEYS_LOST
    assert lost.master_key == first.master_key
    assert "does not hold its private keys" in caplog.text
    assert not keys_path.exists()

    replaced = await ensure_cross_signed(
        client, password=bot.password, keys_path=keys_path, replace_lost=True
    )

    assert replaced.outcome is CrossSigningOutcome.CREATED
    assert replaced.master_key != first.master_key
    seen = await keys_seen_by(synapse, karen, bot.user_id)
    assert master_key_in(seen, bot.user_id) == replaced.master_key
    assert verify_chain(seen, bot.user_id, bot.device_id)


# verify_chain on its own ------------------------------------------------------------

USER = "@matchmaker:connec.test"
DEVICE = "BOTDEVICE"


def a_valid_chain() -> dict[str, Any]:
    """A /keys/query answer for one cross-signed device, made without a server."""
    identity = CrossSigningKeys.generate(USER)
    published = identity.public_key_objects()
    device_key = generate_signing_key(DEVICE)
    device = {
        "user_id": USER,
        "device_id": DEVICE,
        "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
        "keys": {
            f"ed25519:{DEVICE}": encode_verify_key_base64(get_verify_key(device_key)),
            f"curve25519:{DEVICE}": "c29tZSBjdXJ2ZSBrZXk",
        },
    }
    sign_json(device, USER, device_key)
    sign_json(device, USER, identity.self_signing)
    device["unsigned"] = {"device_display_name": "connec"}
    return {
        "device_keys": {USER: {DEVICE: device}},
        "master_keys": {USER: published["master_key"]},
        "self_signing_keys": {USER: published["self_signing_key"]},
        "failures": {},
    }


def test_a_chain_from_master_to_device_holds() -> None:
    assert verify_chain(a_valid_chain(), USER, DEVICE)


def test_a_tampered_device_signature_breaks_the_chain() -> None:
    chain = a_valid_chain()
    signatures = chain["device_keys"][USER][DEVICE]["signatures"][USER]
    ssk_id = next(key_id for key_id in signatures if key_id != f"ed25519:{DEVICE}")
    # Flip one character of the self-signing key's signature.
    signature = signatures[ssk_id]
    signatures[ssk_id] = ("B" if signature[0] == "A" else "A") + signature[1:]

    assert not verify_chain(chain, USER, DEVICE)


def test_device_keys_changed_after_signing_break_the_chain() -> None:
    chain = a_valid_chain()
    chain["device_keys"][USER][DEVICE]["keys"][f"curve25519:{DEVICE}"] = "YW5vdGhlciBrZXk"

    assert not verify_chain(chain, USER, DEVICE)


@pytest.mark.parametrize(
    "break_it",
    [
        lambda chain: chain["master_keys"].clear(),
        lambda chain: chain["master_keys"][USER].update(usage=["self_signing"]),
        lambda chain: chain["self_signing_keys"][USER].pop("signatures"),
        lambda chain: chain["device_keys"][USER].clear(),
    ],
    ids=[
        "no master key",
        "master key not for master use",
        "unsigned self-signing key",
        "no device",
    ],
)
def test_an_incomplete_chain_does_not_hold(break_it: Callable[[dict[str, Any]], None]) -> None:
    chain = copy.deepcopy(a_valid_chain())
    break_it(chain)

    assert not verify_chain(chain, USER, DEVICE)


def test_the_stored_keys_reload_as_the_same_identity(tmp_path: Path) -> None:
    identity = CrossSigningKeys.generate(USER)
    identity.save(tmp_path / "keys.json")

    reloaded = CrossSigningKeys.load(tmp_path / "keys.json")

    assert reloaded is not None
    assert reloaded.public_key_objects() == identity.public_key_objects()
    assert json.loads((tmp_path / "keys.json").read_text())["user_id"] == USER
