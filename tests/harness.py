"""The real parts tests run against: a Synapse from connec's own templates, and
real matrix-nio clients acting as people."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import nio

from connec.provision import prepare_files, provision_accounts
from connec.secrets import Secrets
from connec.settings import Settings, load_settings
from connec.synapse_admin import SynapseAdmin
from connec.synapse_process import SynapseRunner, free_port

T = TypeVar("T")


@dataclass(frozen=True)
class Account:
    user_id: str
    password: str
    access_token: str
    device_id: str


class SynapseHarness:
    """One real Synapse for the whole session, initialised exactly as `connec init` does."""

    def __init__(self, data_dir: Path) -> None:
        self.settings: Settings = load_settings(
            data_dir,
            synapse={
                "port": free_port(),
                "metrics_port": free_port(),
                "server_name": "connec.test",
            },
            portal={"port": free_port()},
            matchmaker={
                "localpart": "matchmaker",
                "display_name": "connec",
                "metrics_port": free_port(),
            },
            scheduler={
                "localpart": "scheduler",
                "display_name": "connec kalender",
                "metrics_port": free_port(),
            },
        )
        self.runner = SynapseRunner(self.settings)
        self.secrets: Secrets
        self.facts: dict[str, str] = {}
        self._admin: SynapseAdmin | None = None
        self._counter = 0

    @property
    def url(self) -> str:
        return self.settings.synapse.url

    @property
    def server_name(self) -> str:
        return self.settings.synapse.server_name

    async def start(self) -> None:
        self.secrets = await asyncio.to_thread(prepare_files, self.settings)
        await asyncio.to_thread(self.runner.start)
        self.facts = await provision_accounts(self.settings, self.secrets)
        # Provisioning stored the admin token; read the secrets again.
        from connec.secrets import load_secrets

        self.secrets = load_secrets(self.settings.paths.secrets)

    async def stop(self) -> None:
        if self._admin is not None:
            await self._admin.close()
        await asyncio.to_thread(self.runner.stop)

    def restart(self) -> None:
        """Stop and start Synapse on the same port (for resilience tests)."""
        self.runner.stop()
        self.runner = SynapseRunner(self.settings)
        self.runner.start()

    @property
    def admin(self) -> SynapseAdmin:
        if self._admin is None:
            self._admin = SynapseAdmin(
                self.url,
                shared_secret=self.secrets.registration_shared_secret,
                admin_token=self.secrets.admin_access_token,
            )
        return self._admin

    async def register(
        self,
        localpart: str | None = None,
        *,
        password: str | None = None,
        displayname: str | None = None,
        user_type: str | None = None,
    ) -> Account:
        """A fresh account, exempt from rate limits so tests are not throttled."""
        self._counter += 1
        localpart = f"{localpart or 'person'}-{self._counter}-{secrets.token_hex(2)}"
        password = password or secrets.token_urlsafe(12)
        made = await self.admin.register(
            localpart, password, displayname=displayname, user_type=user_type
        )
        await self.admin.exempt_from_rate_limits(made["user_id"])
        return Account(made["user_id"], password, made["access_token"], made["device_id"])


async def new_person_client(
    harness: SynapseHarness, store: Path, name: str, displayname: str | None = None
) -> nio.AsyncClient:
    """A logged-in nio client with encryption, as a person's app would be."""
    account = await harness.register(name, displayname=displayname or name.capitalize())
    store.mkdir(parents=True, exist_ok=True)
    client = nio.AsyncClient(
        harness.url,
        account.user_id,
        device_id=account.device_id,
        store_path=str(store),
        config=nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
    )
    client.restore_login(account.user_id, account.device_id, account.access_token)
    client.password = account.password  # type: ignore[attr-defined]
    if client.should_upload_keys:
        await client.keys_upload()
    await client.sync(timeout=0, full_state=True)
    return client


async def eventually(
    check: Callable[[], Awaitable[T | None]], *, timeout: float = 30.0, what: str = "condition"
) -> T:
    """Poll an async check until it gives a truthy value (no fixed sleeps in tests)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.1
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 1.0)


async def messages_from(
    client: nio.AsyncClient, room_id: str, sender: str, *, timeout: float = 30.0, count: int = 1
) -> list[Any]:
    """Sync until ``sender`` has sent ``count`` readable messages in ``room_id``; returns them."""
    seen: list[Any] = []

    async def check() -> list[Any] | None:
        response = await client.sync(timeout=1000)
        if isinstance(response, nio.SyncResponse):
            room = response.rooms.join.get(room_id)
            if room is not None:
                for event in room.timeline.events:
                    if event.sender == sender and isinstance(event, nio.RoomMessageText):
                        seen.append(event)
        return seen if len(seen) >= count else None

    return await eventually(check, timeout=timeout, what=f"{count} message(s) from {sender}")
