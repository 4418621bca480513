"""`connec init`: a data folder with configuration, secrets, accounts and rooms.

Every step checks before it acts, so running init again changes nothing and keeps
every secret.
"""

from __future__ import annotations

import json
import secrets as secrets_module
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from connec.db import Database, migrate
from connec.federation_tls import ensure_federation_tls
from connec.models import DeploymentFact, Person
from connec.private_files import ROOT_MODE, make_private
from connec.secrets import Secrets, ensure_secrets, save_secrets, write_private
from connec.settings import Settings
from connec.synapse_admin import SynapseAdmin, SynapseError
from connec.synapse_config import render_synapse_config, render_turn_config, render_well_known
from connec.synapse_process import SynapseRunner, free_port, generate_signing_key, port_free

ADMIN_LOCALPART = "connec-admin"
BOTS = ("matchmaker", "scheduler")
FACT_COORDINATORS_ROOM = "coordinators_room_id"


@dataclass(frozen=True)
class BotCredentials:
    """A bot's one login: kept in its folder, restored at every start."""

    user_id: str
    device_id: str
    access_token: str

    @classmethod
    def load(cls, path: Path) -> BotCredentials | None:
        if not path.exists():
            return None
        return cls(**json.loads(path.read_text()))

    def save(self, path: Path) -> None:
        write_private(path, json.dumps(self.__dict__, indent=2))


def credentials_path(settings: Settings, bot: str) -> Path:
    return settings.paths.bot(bot) / "credentials.json"


def default_config_text(settings: Settings) -> str:
    """The connec.toml init writes when none exists: the values worth changing."""
    return (
        "# connec configuration. Environment variables CONNEC_* override these\n"
        "# (nested keys with __, e.g. CONNEC_SYNAPSE__PORT=8448).\n"
        f'language = "{settings.language}"\n'
        f'timezone = "{settings.timezone}"\n\n'
        "[synapse]\n"
        f'server_name = "{settings.synapse.server_name}"\n'
        f"port = {settings.synapse.port}\n"
        + (f'public_url = "{settings.synapse.public_url}"\n' if settings.synapse.public_url else "")
        + '# PostgreSQL for production: postgres_dsn = "postgresql://synapse@127.0.0.1/synapse"\n'
        "federation_allowlist = []\n\n"
        "[portal]\n"
        f"port = {settings.portal.port}\n"
    )


def prepare_files(settings: Settings) -> Secrets:
    """Everything init does without a running Synapse: config, secrets, keys, schema."""
    paths = settings.paths
    if not paths.root.exists():
        paths.root.mkdir(parents=True)
        # Others may pass through to well-known/ and element/ (a web server serves
        # them), never list the folder; what is private inside is 0600 or 0700.
        paths.root.chmod(ROOT_MODE)
    if not paths.config.exists():
        paths.config.write_text(default_config_text(settings))
    secrets = ensure_secrets(paths.secrets)
    ensure_federation_tls(settings)
    render_synapse_config(settings, secrets)
    render_turn_config(settings, secrets)
    render_well_known(settings)
    generate_signing_key(settings)
    migrate(settings.db_url)
    _render_element_config(settings)
    make_private(settings)  # a folder from an older connec, or one copied by hand
    return secrets


def _render_element_config(settings: Settings) -> None:
    from connec.element import write_element_config

    write_element_config(
        settings.data_dir,
        homeserver_url=settings.synapse.client_url,
        server_name=settings.synapse.server_name,
        portal_url=settings.portal.client_url,
    )


async def _ensure_account(
    admin: SynapseAdmin,
    user_id: str,
    localpart: str,
    password: str,
    *,
    displayname: str,
    user_type: str | None = None,
    is_admin: bool = False,
) -> dict[str, Any] | None:
    """Register the account unless it exists; answers the registration if one was made."""
    if admin.admin_token and await admin.get_user(user_id) is not None:
        return None
    try:
        return await admin.register(
            localpart, password, admin=is_admin, displayname=displayname, user_type=user_type
        )
    except SynapseError as exc:
        if exc.errcode == "M_USER_IN_USE":
            return None
        raise


async def provision_accounts(settings: Settings, secrets: Secrets) -> dict[str, str]:
    """Accounts and rooms in a running Synapse; answers the deployment facts."""
    paths = settings.paths
    async with SynapseAdmin(
        settings.synapse.url,
        shared_secret=secrets.registration_shared_secret,
        admin_token=secrets.admin_access_token or None,
    ) as admin:
        # connec's own admin account, whose token the portal and the CLI use.
        made = await _ensure_account(
            admin,
            settings.user_id(ADMIN_LOCALPART),
            ADMIN_LOCALPART,
            secrets.admin_password,
            displayname="connec admin",
            is_admin=True,
        )
        if made is not None or not secrets.admin_access_token:
            if made is None:
                made = await admin.login(settings.user_id(ADMIN_LOCALPART), secrets.admin_password)
            secrets = secrets.model_copy(update={"admin_access_token": made["access_token"]})
            save_secrets(paths.secrets, secrets)
            admin.admin_token = secrets.admin_access_token

        for bot in BOTS:
            await _ensure_bot(settings, secrets, admin, bot)

        coordinator_id = settings.user_id(settings.coordinator_localpart)
        if not paths.coordinator_password.exists():
            write_private(paths.coordinator_password, secrets_module.token_urlsafe(12) + "\n")
        coordinator_password = paths.coordinator_password.read_text().strip()
        made = await _ensure_account(
            admin,
            coordinator_id,
            settings.coordinator_localpart,
            coordinator_password,
            displayname="Koordinator",
        )
        # Registration opens a session; it makes the room and is then closed, so the
        # coordinator's Element shows no stray unverified device.
        token = made["access_token"] if made else None
        try:
            return await _ensure_coordinators_room(
                settings, admin, coordinator_id, coordinator_password, token
            )
        finally:
            if token:
                await admin.request("POST", "/_matrix/client/v3/logout", token=token, json={})


async def _ensure_bot(settings: Settings, secrets: Secrets, admin: SynapseAdmin, bot: str) -> None:
    bot_settings = getattr(settings, bot)
    user_id = settings.user_id(bot_settings.localpart)
    password = secrets.bot_password(bot)
    made = await _ensure_account(
        admin,
        user_id,
        bot_settings.localpart,
        password,
        displayname=bot_settings.display_name,
        user_type="bot",
    )
    await admin.exempt_from_rate_limits(user_id)
    path = credentials_path(settings, bot)
    if BotCredentials.load(path) is None:
        # The bot's one device: made here once, restored by the bot at every start.
        login = made or await admin.login(user_id, password)
        BotCredentials(login["user_id"], login["device_id"], login["access_token"]).save(path)


async def _ensure_coordinators_room(
    settings: Settings,
    admin: SynapseAdmin,
    coordinator_id: str,
    coordinator_password: str,
    token: str | None,
) -> dict[str, str]:
    database = Database(settings.db_url)
    try:
        async with database.session() as session:
            fact = await session.get(DeploymentFact, FACT_COORDINATORS_ROOM)
            room_id = fact.value if fact else None
            known = await session.scalar(select(Person).where(Person.matrix_id == coordinator_id))
            if known is None:
                session.add(
                    Person(
                        matrix_id=coordinator_id,
                        role="coordinator",
                        display_name="Koordinator",
                        language=settings.language,
                    )
                )
        if room_id is None:
            room_id = await _create_coordinators_room(
                settings, admin, coordinator_id, coordinator_password, token
            )
            async with database.session() as session:
                session.add(DeploymentFact(key=FACT_COORDINATORS_ROOM, value=room_id))
        return {FACT_COORDINATORS_ROOM: room_id}
    finally:
        await database.close()


async def _create_coordinators_room(
    settings: Settings,
    admin: SynapseAdmin,
    coordinator_id: str,
    coordinator_password: str,
    token: str | None,
) -> str:
    bots = [settings.user_id(getattr(settings, bot).localpart) for bot in BOTS]
    own_session = token is None
    if token is None:
        token = (await admin.login(coordinator_id, coordinator_password))["access_token"]
    try:
        room = await admin.request(
            "POST",
            "/_matrix/client/v3/createRoom",
            token=token,
            json={
                "name": settings.coordinators_room_name,
                "topic": "Koordinatorernes rum: skriv !hjælp for kommandoer.",
                "preset": "private_chat",
                "visibility": "private",
                "invite": bots,
                "initial_state": [
                    {
                        "type": "m.room.encryption",
                        "state_key": "",
                        "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                    },
                    {
                        "type": "m.room.guest_access",
                        "state_key": "",
                        "content": {"guest_access": "forbidden"},
                    },
                    {
                        "type": "m.room.history_visibility",
                        "state_key": "",
                        "content": {"history_visibility": "joined"},
                    },
                ],
                "power_level_content_override": {
                    # The coordinator creates the room: from room version 12 on, a
                    # creator outranks every power level and must not be listed.
                    # The matchmaker may give new coordinators their power level
                    # (`connec staff add --role coordinator`).
                    "users": {bots[0]: 100, bots[1]: 50},
                    "users_default": 0,
                    "invite": 50,
                    "kick": 50,
                    "ban": 100,
                    "events_default": 0,
                    "state_default": 100,
                },
            },
        )
        room_id = str(room["room_id"])
        for bot in BOTS:
            creds = BotCredentials.load(credentials_path(settings, bot))
            assert creds is not None
            await admin.request(
                "POST", f"/_matrix/client/v3/join/{room_id}", token=creds.access_token, json={}
            )
        return room_id
    finally:
        # The session used to create the room is closed, so the coordinator's own
        # Element shows no stray unverified device.
        if own_session:
            await admin.request("POST", "/_matrix/client/v3/logout", token=token, json={})


async def init(settings: Settings) -> dict[str, str]:
    """The whole of `connec init`; starts Synapse for a moment if it is not running."""
    secrets = prepare_files(settings)
    if settings.synapse.port and not port_free(settings.synapse.host, settings.synapse.port):
        # Something answers there already: use it if it is our Synapse.
        return await provision_accounts(settings, secrets)
    # The moment's Synapse listens on free ports, so init never collides with
    # anything else on the machine; then the configured ports are written back.
    synapse = settings.synapse.model_copy(
        update={"port": free_port(), "metrics_port": free_port(), "workers": 0}
    )
    passing = settings.model_copy(update={"synapse": synapse})
    prepare_files(passing)
    runner = SynapseRunner(passing)
    runner.start()
    try:
        return await provision_accounts(passing, secrets)
    finally:
        runner.stop()
        prepare_files(settings)
