"""A bot's encryption store is locked with its own key from secrets.toml.

A deployment from before had its bots' stores locked with nio's default key, known
to everyone. At the next start the bot moves its store onto its own key and keeps
its device, its identity and its sessions: a message a person sent it before can
still be read. A store that opens with no key the bot knows stops it with words.
"""

from __future__ import annotations

import stat
from pathlib import Path

import nio
import pytest

from bots.common.runtime import BotRuntime
from bots.common.store_key import NIO_DEFAULT_KEY, StoreLocked, store_file
from bots.matchmaker.bot import Matchmaker
from connec.provision import BotCredentials, credentials_path
from connec.secrets import Secrets, save_secrets
from connec.settings import Settings
from tests.harness import Account, SynapseHarness, eventually

pytestmark = pytest.mark.synapse


def opens_with(path: Path, account: Account, key: str) -> bool:
    from bots.common.store_key import _opens_with

    return _opens_with(path, account.user_id, account.device_id, key)


async def an_old_bot(
    synapse: SynapseHarness, tmp_path: Path, person
) -> tuple[Settings, Account, str, str, dict[str, str]]:
    """A bot device whose store nio locked with its default key, holding a room key.

    Answers the bot's settings (its own data folder), account, the room, the event a
    person sent it, and the device's identity keys.
    """
    account = await synapse.register("gammelbot")
    await synapse.admin.exempt_from_rate_limits(account.user_id)
    settings = synapse.settings.model_copy(
        update={
            "data_dir": tmp_path,
            "matchmaker": synapse.settings.matchmaker.model_copy(
                update={"localpart": account.user_id.removeprefix("@").split(":")[0]}
            ),
        }
    )
    store = settings.paths.bot("matchmaker") / "store"
    store.mkdir(parents=True)
    BotCredentials(account.user_id, account.device_id, account.access_token).save(
        credentials_path(settings, "matchmaker")
    )
    old = nio.AsyncClient(
        synapse.url,
        account.user_id,
        device_id=account.device_id,
        store_path=str(store),
        config=nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
    )
    assert old.config.pickle_key == NIO_DEFAULT_KEY  # what connec used before
    old.restore_login(account.user_id, account.device_id, account.access_token)
    await old.keys_upload()
    await old.sync(timeout=0, full_state=True)

    karen: nio.AsyncClient = await person("karen")
    room = await karen.room_create(
        invite=[account.user_id],
        initial_state=[
            {
                "type": "m.room.encryption",
                "state_key": "",
                "content": {"algorithm": "m.megolm.v1.aes-sha2"},
            }
        ],
    )
    assert isinstance(room, nio.RoomCreateResponse)
    await old.sync(timeout=0)
    assert isinstance(await old.join(room.room_id), nio.JoinResponse)

    async def bot_joined() -> bool:
        await karen.sync(timeout=500)
        return account.user_id in karen.rooms[room.room_id].users

    await eventually(bot_joined, what="the bot's join, as Karen sees it")
    await karen.keys_query()
    sent = await karen.room_send(
        room.room_id,
        "m.room.message",
        {"msgtype": "m.text", "body": "hemmelig"},
        ignore_unverified_devices=True,
    )
    assert isinstance(sent, nio.RoomSendResponse)

    async def read_by_the_bot() -> bool:
        response = await old.sync(timeout=500)
        joined = (
            response.rooms.join.get(room.room_id)
            if isinstance(response, nio.SyncResponse)
            else None
        )
        return bool(
            joined
            and any(
                isinstance(e, nio.RoomMessageText) and e.body == "hemmelig"
                for e in joined.timeline.events
            )
        )

    await eventually(read_by_the_bot, what="the bot to read Karen's message")
    identity = dict(old.olm.account.identity_keys)  # type: ignore[union-attr]
    await old.close()
    return settings, account, room.room_id, sent.event_id, identity


def with_store_key(synapse: SynapseHarness, settings: Settings, key: str) -> None:
    secrets = Secrets.model_validate({**synapse.secrets.model_dump(), "matchmaker_store_key": key})
    save_secrets(settings.paths.secrets, secrets)


async def test_an_old_store_is_locked_with_the_bots_own_key_and_keeps_its_device(
    synapse: SynapseHarness, tmp_path: Path, person
) -> None:
    settings, account, room_id, event_id, identity = await an_old_bot(synapse, tmp_path, person)
    path = store_file(
        settings.paths.bot("matchmaker") / "store", account.user_id, account.device_id
    )
    assert opens_with(path, account, NIO_DEFAULT_KEY)
    key = Secrets.generate().matchmaker_store_key
    with_store_key(synapse, settings, key)

    runtime = BotRuntime(settings, Matchmaker())
    client = await runtime._login()
    try:
        assert client.device_id == account.device_id  # the same device, no new login
        assert dict(client.olm.account.identity_keys) == identity  # type: ignore[union-attr]
        # The message Karen sent before still opens with the moved store.
        fetched = await client.room_get_event(room_id, event_id)
        assert isinstance(fetched, nio.RoomGetEventResponse)
        event = fetched.event  # nio decrypts it with the room key from the store
        assert isinstance(event, nio.RoomMessageText) and event.decrypted
        assert event.body == "hemmelig"
    finally:
        await client.close()
        await runtime.db.close()

    assert opens_with(path, account, key)
    assert not opens_with(path, account, NIO_DEFAULT_KEY)  # nobody else's key opens it
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not list(path.parent.glob("*.rekeying"))

    # A second start finds it locked with its key already.
    runtime = BotRuntime(settings, Matchmaker())
    client = await runtime._login()
    assert dict(client.olm.account.identity_keys) == identity  # type: ignore[union-attr]
    await client.close()
    await runtime.db.close()


async def test_a_store_no_known_key_opens_stops_the_bot_with_words(
    synapse: SynapseHarness, tmp_path: Path, person
) -> None:
    settings, _account, *_rest = await an_old_bot(synapse, tmp_path, person)
    with_store_key(synapse, settings, Secrets.generate().matchmaker_store_key)
    runtime = BotRuntime(settings, Matchmaker())
    await (await runtime._login()).close()  # moved onto the first key

    with_store_key(synapse, settings, "a-key-from-another-deployment")
    with pytest.raises(StoreLocked, match="does not open with matchmaker_store_key"):
        await BotRuntime(settings, Matchmaker())._login()
    with_store_key(synapse, settings, "")
    with pytest.raises(StoreLocked, match="connec init"):
        await BotRuntime(settings, Matchmaker())._login()
    await runtime.db.close()
