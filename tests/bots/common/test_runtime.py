"""Stories of a person talking to a bot, against a real Synapse."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nio
import pytest

from bots.matchmaker.bot import Matchmaker
from bots.scheduler.bot import Scheduler
from connec.db import migrate
from connec.provision import BotCredentials, credentials_path
from connec.secrets import ensure_secrets
from tests.harness import SynapseHarness, eventually, messages_from

pytestmark = pytest.mark.synapse


async def open_direct_room(client: nio.AsyncClient, bot_id: str) -> str:
    response = await client.room_create(is_direct=True, invite=[bot_id])
    assert isinstance(response, nio.RoomCreateResponse), response
    return response.room_id


async def say(client: nio.AsyncClient, room_id: str, text: str) -> str:
    response = await client.room_send(
        room_id,
        "m.room.message",
        {"msgtype": "m.text", "body": text},
        ignore_unverified_devices=True,
    )
    assert isinstance(response, nio.RoomSendResponse), response
    return response.event_id


async def test_a_person_who_opens_a_direct_room_is_greeted_in_danish(
    synapse: SynapseHarness, person, start_bot
) -> None:
    bot = await start_bot(Matchmaker())
    karen = await person("karen")
    room_id = await open_direct_room(karen, bot.user_id)
    # A greeting, then (for someone new) an invitation to tell about themselves.
    greeting, invitation = await messages_from(karen, room_id, bot.user_id, count=2)
    assert "start" in invitation.body
    assert "velkommen til connec" in greeting.body
    assert "<b>hjælp</b>" in greeting.formatted_body


async def test_help_in_english_is_answered_in_english_and_danish_in_danish(
    synapse: SynapseHarness, person, start_bot
) -> None:
    bot = await start_bot(Matchmaker())
    anna = await person("anna")
    room_id = await open_direct_room(anna, bot.user_id)
    await messages_from(anna, room_id, bot.user_id, count=2)  # greeting and invitation
    await say(anna, room_id, "help")
    [english] = await messages_from(anna, room_id, bot.user_id)
    assert "Here is what I can do" in english.body and "!help" in english.body
    await say(anna, room_id, "!hjælp")
    [danish] = await messages_from(anna, room_id, bot.user_id)
    assert "Her er hvad jeg kan hjælpe med" in danish.body and "!hjælp" in danish.body


async def test_an_unknown_command_gets_a_kind_answer_listing_commands(
    synapse: SynapseHarness, person, start_bot
) -> None:
    bot = await start_bot(Scheduler())
    ole = await person("ole")
    room_id = await open_direct_room(ole, bot.user_id)
    await messages_from(ole, room_id, bot.user_id)
    await say(ole, room_id, "!dans")
    [answer] = await messages_from(ole, room_id, bot.user_id)
    assert "Jeg kender ikke kommandoen “dans”" in answer.body
    assert "!hjælp" in answer.body


async def test_plain_words_in_a_direct_room_point_to_help(
    synapse: SynapseHarness, person, start_bot
) -> None:
    bot = await start_bot(Scheduler())
    bent = await person("bent")
    room_id = await open_direct_room(bent, bot.user_id)
    await messages_from(bent, room_id, bot.user_id)
    await say(bent, room_id, "hvad er klokken")
    [answer] = await messages_from(bent, room_id, bot.user_id)
    assert "Skriv hjælp" in answer.body


async def test_a_restarted_bot_keeps_its_device_and_does_not_answer_old_messages(
    synapse: SynapseHarness, person, start_bot
) -> None:
    bot = await start_bot(Matchmaker())
    device = bot.runtime.client.device_id
    lis = await person("lis")
    room_id = await open_direct_room(lis, bot.user_id)
    await messages_from(lis, room_id, bot.user_id, count=2)
    await say(lis, room_id, "hjælp")
    await messages_from(lis, room_id, bot.user_id)
    await bot.stop()

    again = await start_bot(Matchmaker())
    assert again.runtime.client.device_id == device
    creds = BotCredentials.load(credentials_path(synapse.settings, "matchmaker"))
    assert creds is not None and creds.device_id == device
    # Only one device, however often the bot starts.
    devices = await synapse.admin.admin("GET", f"/v2/users/{again.user_id}/devices")
    assert [d["device_id"] for d in devices["devices"]] == [device]

    # A new message is answered once; the old "hjælp" is not answered again.
    await say(lis, room_id, "help")
    answers = await messages_from(lis, room_id, again.user_id)
    assert len(answers) == 1 and "Here is what I can do" in answers[0].body
    with pytest.raises(AssertionError, match="timed out"):
        await messages_from(lis, room_id, again.user_id, timeout=4)


async def test_the_bot_survives_synapse_restarting_under_it(
    synapse: SynapseHarness, person, start_bot
) -> None:
    bot = await start_bot(Matchmaker())
    per = await person("per")
    room_id = await open_direct_room(per, bot.user_id)
    await messages_from(per, room_id, bot.user_id, count=2)

    await asyncio.to_thread(synapse.restart)
    assert not bot.task.done()
    await say(per, room_id, "hjælp")
    [answer] = await messages_from(per, room_id, bot.user_id, timeout=60)
    assert "Her er hvad jeg kan hjælpe med" in answer.body

    async def synced_again() -> bool:
        return bot.runtime.ready.is_set() and not bot.task.done()

    await eventually(synced_again, what="the bot to keep running")


async def test_the_bots_device_is_cross_signed_as_element_requires(
    synapse: SynapseHarness, person, start_bot
) -> None:
    from bots.common.cross_signing import verify_chain

    bot = await start_bot(Scheduler())
    karen = await person("karen")
    query = await synapse.admin.request(
        "POST",
        "/_matrix/client/v3/keys/query",
        token=karen.access_token,
        json={"device_keys": {bot.user_id: []}},
    )
    assert verify_chain(query, bot.user_id, bot.runtime.client.device_id)


async def test_logs_never_hold_message_bodies_or_the_bots_password(
    synapse: SynapseHarness, person, start_bot, json_logs, tmp_path: Path
) -> None:
    """A bot on a deployment of its own, so it really signs in with its password (the
    session's bots have long since swapped theirs for a stored access token)."""
    password = ensure_secrets(tmp_path / "secrets.toml").matchmaker_password
    account = await synapse.register("matchmaker", password=password, user_type="bot")
    localpart = account.user_id.removeprefix("@").split(":")[0]
    settings = synapse.settings.model_copy(
        update={
            "data_dir": tmp_path,
            "database_url": f"sqlite+aiosqlite:///{tmp_path / 'connec.db'}",
            "matchmaker": synapse.settings.matchmaker.model_copy(update={"localpart": localpart}),
        }
    )
    assert settings.paths.secrets == tmp_path / "secrets.toml"
    await asyncio.to_thread(migrate, settings.db_url)
    assert BotCredentials.load(credentials_path(settings, "matchmaker")) is None

    bot = await start_bot(Matchmaker(), settings=settings)
    assert BotCredentials.load(credentials_path(settings, "matchmaker")) is not None  # signed in
    vera = await person("vera")
    room_id = await open_direct_room(vera, bot.user_id)
    await messages_from(vera, room_id, bot.user_id, count=2)
    secret_words = "min hemmelige besked 4711"
    await say(vera, room_id, f"!hjælp {secret_words}")
    await messages_from(vera, room_id, bot.user_id)

    logged = json_logs.getvalue()
    assert '"command": "help"' in logged  # the log does say what happened
    assert secret_words not in logged
    assert password not in logged


async def test_a_message_the_bot_cannot_decrypt_gets_a_visible_kind_answer(
    synapse: SynapseHarness, person, start_bot
) -> None:
    bot = await start_bot(Scheduler())
    ida = await person("ida")
    room_id = await open_direct_room(ida, bot.user_id)
    await messages_from(ida, room_id, bot.user_id)
    # An encrypted message for a session the bot was never given.
    await synapse.admin.request(
        "PUT",
        f"/_matrix/client/v3/rooms/{room_id}/send/m.room.encrypted/broken-1",
        token=ida.access_token,
        json={
            "algorithm": "m.megolm.v1.aes-sha2",
            "ciphertext": "AwgAEnB4om3jNgLCBBMr",
            "sender_key": "LVfZ9JdUQ5A4xUZq4vVp3t0yqL5l2Ew4J2hRZcQm0Xk",
            "session_id": "no-such-session",
            "device_id": ida.device_id,
        },
    )
    [answer] = await messages_from(ida, room_id, bot.user_id)
    assert "Jeg kunne ikke læse din sidste besked" in answer.body


async def test_the_bots_are_exempt_from_rate_limits(synapse: SynapseHarness) -> None:
    for bot in ("matchmaker", "scheduler"):
        user_id = synapse.settings.user_id(bot)
        limits = await synapse.admin.admin("GET", f"/v1/users/{user_id}/override_ratelimit")
        assert limits == {"messages_per_second": 0, "burst_count": 0}
