"""A throw-away Synapse on loopback, initialised exactly as `connec init` does.

For benchmarks that must go through the real homeserver (``connec bench ...``) and
for the test suite: a temporary data folder, free ports, Synapse started from
connec's own templates, connec's accounts and rooms provisioned, and people
registered through the shared-secret admin API. Stopped and removed with
:meth:`ThrowawaySynapse.stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from connec.provision import prepare_files, provision_accounts
from connec.secrets import Secrets, load_secrets
from connec.settings import Settings, load_settings
from connec.synapse_admin import SynapseAdmin
from connec.synapse_process import SynapseRunner, free_port


@dataclass(frozen=True)
class Account:
    user_id: str
    password: str
    access_token: str
    device_id: str


class ThrowawaySynapse:
    """One real Synapse on free loopback ports, in ``data_dir``."""

    def __init__(self, data_dir: Path, server_name: str = "connec.test", **synapse: Any) -> None:
        self.settings: Settings = load_settings(
            data_dir,
            synapse={
                "port": free_port(),
                "metrics_port": free_port(),
                "server_name": server_name,
                **synapse,
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

    async def prepare(self) -> None:
        """Configuration, secrets, certificates and database, without starting anything."""
        self.secrets = await asyncio.to_thread(prepare_files, self.settings)

    async def start(self) -> None:
        if not hasattr(self, "secrets"):
            await self.prepare()
        await asyncio.to_thread(self.runner.start)
        self.facts = await provision_accounts(self.settings, self.secrets)
        # Provisioning stored the admin token; read the secrets again.
        self.secrets = load_secrets(self.settings.paths.secrets)

    async def stop(self) -> None:
        if self._admin is not None:
            await self._admin.close()
        await asyncio.to_thread(self.runner.stop)

    def restart(self) -> None:
        """Stop and start Synapse on the same port (for resilience tests)."""
        self.runner.stop()
        self.start_again()

    def start_again(self) -> None:
        """Start Synapse again after ``runner.stop()``, on the same port and data."""
        self.runner = SynapseRunner(self.settings)
        self.runner.start()

    def halt(self) -> None:
        """Stop Synapse (an outage); :meth:`resume` starts it again on the same ports."""
        self.runner.stop()

    def resume(self) -> None:
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


def federating_pair(first: Path, second: Path) -> tuple[ThrowawaySynapse, ThrowawaySynapse]:
    """Two Synapses that federate with each other over TLS on loopback, as a
    municipality and a volunteer organisation would: each named ``localhost:PORT``
    after its TLS federation listener, each trusting the other's CA and listing the
    other in its allow-list. Start both with :func:`start_pair`."""
    ports = [free_port(), free_port()]
    names = [f"localhost:{port}" for port in ports]
    folders = [first, second]
    pair = []
    for index in (0, 1):
        other = 1 - index
        pair.append(
            ThrowawaySynapse(
                folders[index],
                server_name=names[index],
                federation_port=ports[index],
                federation_on_loopback=True,
                federation_allowlist=[names[other]],
                federation_trusted_cas=[federation_tls_folder(folders[other]) / "ca.crt"],
            )
        )
    return pair[0], pair[1]


def federation_tls_folder(data_dir: Path) -> Path:
    return load_settings(data_dir).paths.synapse / "tls"


async def start_pair(pair: tuple[ThrowawaySynapse, ThrowawaySynapse]) -> None:
    """Certificates for both first (each trusts the other's CA), then both Synapses.

    One after the other: Alembic's migration context is one per process."""
    for synapse in pair:
        await synapse.prepare()
    await asyncio.gather(*(synapse.start() for synapse in pair))


@contextlib.contextmanager
def synapse_database(admin_url: str) -> Iterator[str]:
    """A throw-away PostgreSQL database as Synapse requires it (UTF8, C collation), made
    on the server ``admin_url`` reaches and dropped afterwards; yields its DSN."""
    from sqlalchemy import create_engine, make_url, text

    name = f"connec_synapse_{secrets.token_hex(4)}"
    # Synapse's own driver (psycopg2), whatever the URL names.
    url = make_url(admin_url).set(drivername="postgresql+psycopg2")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(
                text(
                    f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' "
                    "LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
                )
            )
        base = urlsplit(admin_url)
        try:
            yield f"postgresql://{base.netloc}/{name}"
        finally:  # dropped however the run ended
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
