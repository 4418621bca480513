"""Synapse as connec renders it: sign-in limits, passwords, profiles, media, sessions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from synapse.config.ratelimiting import RatelimitConfig

from connec.accounts import first_password
from connec.secrets import Secrets
from connec.settings import load_settings
from connec.synapse_config import render_synapse_config
from tests.harness import SynapseHarness


def rendered(data_dir: Path, **synapse: Any) -> dict[str, Any]:
    settings = load_settings(data_dir, synapse=synapse)
    render_synapse_config(settings, Secrets.generate())
    loaded: dict[str, Any] = yaml.safe_load(settings.paths.homeserver_yaml.read_text())
    return loaded


def sign_in_limits(config: dict[str, Any]) -> list[tuple[float, int]]:
    limits = RatelimitConfig(None)
    limits.read_config(config)
    return [
        (setting.per_second, setting.burst_count)
        for setting in (
            limits.rc_login_address,
            limits.rc_login_account,
            limits.rc_login_failed_attempts,
        )
    ]


def test_behind_the_proxy_synapse_keeps_its_own_sign_in_limits(tmp_path: Path) -> None:
    production = rendered(tmp_path, public_url="https://matrix.kommune.dk")
    assert sign_in_limits(production) == sign_in_limits({})
    assert production["listeners"][0]["x_forwarded"] is True


def test_only_the_loopback_development_profile_loosens_the_limit_per_address(
    tmp_path: Path,
) -> None:
    development = rendered(tmp_path)
    address, account, _failed = sign_in_limits(development)
    assert address > sign_in_limits({})[0]  # every app shares 127.0.0.1 here
    assert account[0] <= 0.2 and account[1] <= 10


def test_privacy_and_session_settings(tmp_path: Path) -> None:
    config = rendered(tmp_path, public_url="https://matrix.kommune.dk")
    assert config["allow_profile_lookup_over_federation"] is False
    assert config["limit_profile_requests_to_users_who_share_rooms"] is True
    assert config["media_retention"] == {"remote_media_lifetime": "30d"}
    assert config["refreshable_access_token_lifetime"] is None
    assert "session_lifetime" not in config  # no forced sign-out of older people
    policy = config["password_config"]["policy"]
    assert policy["enabled"] and policy["minimum_length"] == 15
    assert len(first_password()) >= policy["minimum_length"]


@pytest.mark.synapse
async def test_a_person_cannot_choose_a_short_password_but_a_first_password_is_fine(
    synapse: SynapseHarness,
) -> None:
    user_id = f"@kodeord-{first_password()[:4]}:{synapse.server_name}"
    password = first_password()
    await synapse.admin.update_user(user_id, password=password)
    login = await synapse.admin.login(user_id, password)

    async def change(new: str) -> tuple[int, dict[str, Any]]:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{synapse.url}/_matrix/client/v3/account/password",
                json={
                    "new_password": new,
                    "logout_devices": False,
                    "auth": {
                        "type": "m.login.password",
                        "identifier": {"type": "m.id.user", "user": user_id},
                        "password": password,
                    },
                },
                headers={"Authorization": f"Bearer {login['access_token']}"},
            ) as response,
        ):
            return response.status, await response.json()

    status, body = await change("kort-kodeord")
    assert status == 400 and body["errcode"] == "M_PASSWORD_TOO_SHORT"
    status, body = await change(first_password())
    assert status == 200, body


@pytest.mark.synapse
async def test_synapse_hands_out_no_refresh_tokens(synapse: SynapseHarness) -> None:
    account = await synapse.register("opfrisk")
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{synapse.url}/_matrix/client/v3/login",
            json={
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": account.user_id},
                "password": account.password,
                "refresh_token": True,
            },
        ) as response,
    ):
        body = await response.json()
    assert response.status == 200
    assert "refresh_token" not in body and "expires_in_ms" not in body
