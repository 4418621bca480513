"""An operator moves connec to production: Synapse on PostgreSQL, generic workers
talking through Redis, coturn for calls, and the .well-known documents.

The rendering stories run anywhere; the others start a real Synapse (and coturn) of
their own on free loopback ports, against the PostgreSQL and Redis on 127.0.0.1.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import tomllib
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import nio
import pytest
import yaml
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from connec.processes import http_ok, pid_alive
from connec.provision import prepare_files
from connec.secrets import Secrets, ensure_secrets, load_secrets
from connec.settings import Settings, load_settings
from connec.synapse_admin import SynapseAdmin
from connec.synapse_config import (
    REPO_ROOT,
    render_synapse_config,
    render_turn_config,
    render_well_known,
    synapse_workers,
    turnserver_conf_path,
    well_known_dir,
)
from connec.synapse_process import CoturnRunner, SynapseRunner, coturn_installed, free_port
from connec.throwaway import synapse_database as throwaway_synapse_database
from tests.harness import eventually, mark_device_made, messages_from

POSTGRES_ADMIN_URL = os.environ.get(
    "CONNEC_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("CONNEC_TEST_REDIS", "redis://127.0.0.1:6379")


def unavailable(what: str, why: object) -> None:
    """Skip a story whose service is missing here (in CI that fails the run: tests/ci.py)."""
    pytest.skip(f"{what} is not available: {why}")


def settings_for(data_dir: Path, **synapse: Any) -> Settings:
    """A deployment on free loopback ports with a unique server name."""
    return load_settings(
        data_dir,
        synapse={
            "port": free_port(),
            "metrics_port": free_port(),
            "server_name": f"prod-{uuid.uuid4().hex[:8]}.test",
            **synapse,
        },
        portal={"port": free_port()},
    )


def yaml_file(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def turnserver_options(path: Path) -> dict[str, list[str]]:
    """turnserver.conf as option -> every value given (flags have the value '')."""
    options: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            options.setdefault(key, []).append(value)
    return options


# --- What gets rendered ----------------------------------------------------------


def test_dev_profile_stays_embedded(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    secrets_ = Secrets.generate()
    render_synapse_config(settings, secrets_)
    homeserver = yaml_file(settings.paths.homeserver_yaml)

    assert homeserver["database"]["name"] == "sqlite3"
    # The client listener and the loopback metrics listener, nothing for workers.
    assert [(listener["port"], listener["type"]) for listener in homeserver["listeners"]] == [
        (8008, "http"),
        (9108, "metrics"),
    ]
    assert homeserver["listeners"][1]["bind_addresses"] == ["127.0.0.1"]
    for production_only in ("redis", "instance_map", "worker_replication_secret", "turn_uris"):
        assert production_only not in homeserver
    assert synapse_workers(settings) == []
    assert not (settings.paths.synapse / "workers").exists()
    assert render_turn_config(settings, secrets_) is None
    assert not turnserver_conf_path(settings).exists()


def test_workers_without_postgres_or_redis_are_refused_clearly() -> None:
    with pytest.raises(ValidationError, match="Synapse workers need PostgreSQL"):
        load_settings(Path("/nonexistent"), synapse={"workers": 1, "redis_url": REDIS_URL})
    with pytest.raises(ValidationError, match="through Redis"):
        load_settings(
            Path("/nonexistent"),
            synapse={"workers": 1, "postgres_dsn": "postgresql://synapse@127.0.0.1/synapse"},
        )
    with pytest.raises(ValidationError, match="turn_host"):
        load_settings(Path("/nonexistent"), synapse={"coturn": True})


def test_an_older_secrets_file_gains_the_new_secrets_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    old = Secrets.generate().model_dump(exclude={"turn_shared_secret", "worker_replication_secret"})
    path.write_text("".join(f'{key} = "{value}"\n' for key, value in old.items()))
    assert load_secrets(path).turn_shared_secret == ""  # an old file still loads

    filled = ensure_secrets(path)

    assert filled.turn_shared_secret and filled.worker_replication_secret
    assert filled.model_dump(exclude={"turn_shared_secret", "worker_replication_secret"}) == old
    with path.open("rb") as fh:
        assert tomllib.load(fh)["turn_shared_secret"] == filled.turn_shared_secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_secrets(path) == filled  # and a second run keeps them


def test_workers_are_rendered_with_redis_and_a_loopback_replication_listener(
    tmp_path: Path,
) -> None:
    settings = settings_for(
        tmp_path,
        workers=2,
        worker_port=18083,
        replication_port=19093,
        postgres_dsn="postgresql://synapse:s%40fe@db.internal:5433/synapse",
        redis_url="redis://:hemmelig@127.0.0.1:6380/3",
        public_url="https://matrix.kommune.dk",
    )
    secrets_ = Secrets.generate()
    render_synapse_config(settings, secrets_)
    homeserver = yaml_file(settings.paths.homeserver_yaml)

    assert homeserver["database"]["args"]["password"] == "s@fe"
    assert homeserver["redis"] == {
        "enabled": True,
        "host": "127.0.0.1",
        "port": 6380,
        "dbid": 3,
        "password": "hemmelig",
    }
    assert homeserver["worker_replication_secret"] == secrets_.worker_replication_secret
    assert homeserver["instance_map"] == {"main": {"host": "127.0.0.1", "port": 19093}}
    replication = [
        listener
        for listener in homeserver["listeners"]
        if listener.get("resources", [{}])[0].get("names") == ["replication"]
    ]
    assert replication == [
        {
            "port": 19093,
            "bind_addresses": ["127.0.0.1"],
            "type": "http",
            "tls": False,
            "x_forwarded": False,
            "resources": [{"names": ["replication"], "compress": False}],
        }
    ]

    workers = synapse_workers(settings)
    assert [(w.name, w.port) for w in workers] == [
        ("generic_worker1", 18083),
        ("generic_worker2", 18084),
    ]
    for worker in workers:
        config = yaml_file(worker.config)
        assert config["worker_app"] == "synapse.app.generic_worker"
        assert config["worker_name"] == worker.name
        (listener,) = config["worker_listeners"]
        assert listener["port"] == worker.port
        assert listener["bind_addresses"] == ["127.0.0.1"]
        assert listener["resources"][0]["names"] == ["client"]
        log_config = yaml_file(Path(config["worker_log_config"]))
        assert log_config["handlers"]["file"]["filename"] == str(
            settings.paths.logs / f"{worker.name}.log"
        )
    # The main process keeps its own log file.
    main_log = yaml_file(settings.paths.synapse_log_config)
    assert main_log["handlers"]["file"]["filename"] == str(settings.paths.logs / "synapse.log")

    # Going down to one worker leaves no stale file behind to mislead anyone.
    fewer = settings.model_copy(
        update={"synapse": settings.synapse.model_copy(update={"workers": 1})}
    )
    render_synapse_config(fewer, secrets_)
    assert sorted(p.name for p in (settings.paths.synapse / "workers").iterdir()) == [
        "generic_worker1.log.yaml",
        "generic_worker1.yaml",
    ]


def test_coturn_and_synapse_share_one_turn_secret(tmp_path: Path) -> None:
    settings = settings_for(
        tmp_path,
        server_name="kommune.dk",
        turn_host="turn.kommune.dk",
        turn_listening_ips=["203.0.113.7"],
    )
    secrets_ = Secrets.generate()
    render_synapse_config(settings, secrets_)
    conf = render_turn_config(settings, secrets_)
    assert conf is not None
    homeserver = yaml_file(settings.paths.homeserver_yaml)
    options = turnserver_options(conf)

    assert options["static-auth-secret"] == [homeserver["turn_shared_secret"]]
    assert homeserver["turn_shared_secret"] == secrets_.turn_shared_secret
    assert homeserver["turn_uris"] == [
        "turn:turn.kommune.dk:3478?transport=udp",
        "turn:turn.kommune.dk:3478?transport=tcp",
    ]
    assert homeserver["turn_user_lifetime"] == "1h"
    assert homeserver["turn_allow_guests"] is False
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600

    assert options["realm"] == ["kommune.dk"]
    assert options["listening-ip"] == ["203.0.113.7"]
    assert options["allowed-peer-ip"] == ["203.0.113.7"]  # itself, for TURN-to-TURN calls
    for flag in ("use-auth-secret", "no-tcp-relay", "no-cli", "fingerprint", "no-tls"):
        assert flag in options, flag
    assert options["user-quota"] == ["12"]
    denied = options["denied-peer-ip"]
    for private in (
        "10.0.0.0-10.255.255.255",
        "172.16.0.0-172.31.255.255",
        "192.168.0.0-192.168.255.255",
        "127.0.0.0-127.255.255.255",
        "169.254.0.0-169.254.255.255",
        "::1",
        "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ):
        assert private in denied, private
    assert "allow-loopback-peers" not in options


def test_well_known_documents_point_at_the_public_url(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, public_url="https://matrix.kommune.dk/")
    client, server = render_well_known(settings)

    assert client == well_known_dir(settings) / "matrix" / "client"
    assert json.loads(client.read_text()) == {
        "m.homeserver": {"base_url": "https://matrix.kommune.dk"}
    }
    assert json.loads(server.read_text()) == {"m.server": "matrix.kommune.dk:443"}


# --- Synapse on PostgreSQL, with a worker and Redis ---------------------------------


@pytest.fixture
def synapse_database() -> Iterator[str]:
    """A throwaway PostgreSQL database as Synapse requires it (UTF8, C collation)."""
    try:
        with throwaway_synapse_database(POSTGRES_ADMIN_URL) as dsn:
            yield dsn
    except OperationalError as exc:
        unavailable(f"PostgreSQL at {POSTGRES_ADMIN_URL}", exc)


@pytest.fixture
def redis_url() -> str:
    """Redis on loopback, with a database number of this run's own."""
    parts = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=2):
            pass
    except OSError as exc:
        unavailable(f"Redis at {REDIS_URL}", exc)
    return f"redis://{parts.netloc}/{secrets.randbelow(16)}"


def redis_subscribers(url: str, channel: str) -> int:
    """How many connections listen on a Redis channel (PUBSUB NUMSUB, plain RESP)."""
    parts = urlsplit(url)
    command = [b"PUBSUB", b"NUMSUB", channel.encode()]
    wire = b"*%d\r\n" % len(command) + b"".join(b"$%d\r\n%s\r\n" % (len(c), c) for c in command)
    with socket.create_connection((parts.hostname, parts.port or 6379), timeout=5) as sock:
        sock.sendall(wire)
        reply = b""
        while reply.count(b"\r\n") < 4:
            reply += sock.recv(4096)
    # *2 / $len / channel / :count
    return int(reply.split(b"\r\n")[3].lstrip(b":"))


@pytest.mark.postgres
async def test_synapse_runs_on_postgres(tmp_path: Path, synapse_database: str) -> None:
    settings = settings_for(tmp_path, postgres_dsn=synapse_database)
    keys = prepare_files(settings)
    runner = SynapseRunner(settings)
    runner.start()
    try:
        async with SynapseAdmin(
            settings.synapse.url, shared_secret=keys.registration_shared_secret
        ) as admin:
            made = await admin.register("karen", secrets.token_urlsafe(12), displayname="Karen")
            me = await admin.request(
                "GET", "/_matrix/client/v3/account/whoami", token=made["access_token"]
            )
        assert me["user_id"] == settings.user_id("karen")
    finally:
        runner.stop()
    assert not pid_alive(runner.process.pid)

    # Karen lives in PostgreSQL, not in a SQLite file in the data folder.
    assert not (settings.paths.synapse / "homeserver.db").exists()
    engine = create_engine(synapse_database.replace("postgresql://", "postgresql+psycopg2://"))
    try:
        with engine.connect() as connection:
            names = connection.execute(text("SELECT name FROM users")).scalars().all()
    finally:
        engine.dispose()
    assert settings.user_id("karen") in names


def documented_worker_routes() -> list[re.Pattern[str]]:
    """The nginx locations docs/production.md sends to the generic workers."""
    docs = (REPO_ROOT / "docs" / "production.md").read_text()
    routes = re.findall(r"location ~ (\S+) \{ proxy_pass http://synapse_workers; \}", docs)
    assert len(routes) > 20, "docs/production.md no longer lists the worker routes"
    return [re.compile(route) for route in routes]


# Hop-by-hop and framing headers the proxy sets itself.
NOT_FORWARDED = {"host", "connection", "content-length", "transfer-encoding", "content-encoding"}


@asynccontextmanager
async def reverse_proxy(main_url: str, worker_url: str) -> AsyncIterator[tuple[str, list[str]]]:
    """The operator's reverse proxy in miniature, routing as docs/production.md says.

    Yields its URL and a log of ``"worker GET /path"`` / ``"main PUT /path"`` lines.
    """
    routes = documented_worker_routes()
    log: list[str] = []
    session = aiohttp.ClientSession()

    async def forward(request: web.Request) -> web.Response:
        to_worker = any(route.search(request.path) for route in routes)
        log.append(f"{'worker' if to_worker else 'main'} {request.method} {request.path}")
        upstream = worker_url if to_worker else main_url
        headers = {k: v for k, v in request.headers.items() if k.lower() not in NOT_FORWARDED}
        async with session.request(
            request.method,
            upstream + request.raw_path,
            headers=headers,
            data=await request.read(),
            allow_redirects=False,
        ) as answer:
            body = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in NOT_FORWARDED}
            return web.Response(status=answer.status, body=body, headers=kept)

    app = web.Application(client_max_size=50 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}", log
    finally:
        await runner.cleanup()
        await session.close()


async def person_on(url: str, admin: SynapseAdmin, store: Path, name: str) -> nio.AsyncClient:
    """A person's encrypting app, signed in through ``url``."""
    made_at = time.time()
    made = await admin.register(f"{name}-{secrets.token_hex(2)}", secrets.token_urlsafe(12))
    store.mkdir(parents=True, exist_ok=True)
    client = nio.AsyncClient(
        url,
        made["user_id"],
        device_id=made["device_id"],
        store_path=str(store),
        config=nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
    )
    mark_device_made(client, made_at)
    client.restore_login(made["user_id"], made["device_id"], made["access_token"])
    if client.should_upload_keys:
        await client.keys_upload()
    await client.sync(timeout=0, full_state=True)
    return client


@pytest.mark.postgres
async def test_a_worker_carries_conversation_through_redis(
    tmp_path: Path, synapse_database: str, redis_url: str
) -> None:
    settings = settings_for(
        tmp_path,
        postgres_dsn=synapse_database,
        redis_url=redis_url,
        workers=1,
        worker_port=free_port(),
        replication_port=free_port(),
    )
    keys = prepare_files(settings)
    runner = SynapseRunner(settings)
    (worker,) = synapse_workers(settings)
    clients: list[nio.AsyncClient] = []
    runner.start()
    try:
        assert http_ok(f"{settings.synapse.url}/health")
        assert http_ok(f"{worker.url}/health")
        # Both processes listen on this deployment's Redis channel.
        assert redis_subscribers(redis_url, settings.synapse.server_name) >= 2
        assert (settings.paths.logs / f"{worker.name}.log").exists()

        async with (
            SynapseAdmin(
                settings.synapse.url, shared_secret=keys.registration_shared_secret
            ) as admin,
            reverse_proxy(settings.synapse.url, worker.url) as (proxy_url, routed),
        ):
            # Karen's app goes through the proxy, as in production; Ole's straight to
            # the main process, so what he reads came across from the worker.
            karen = await person_on(proxy_url, admin, tmp_path / "karen", "karen")
            ole = await person_on(settings.synapse.url, admin, tmp_path / "ole", "ole")
            clients += [karen, ole]

            created = await karen.room_create(
                invite=[ole.user_id], preset=nio.RoomPreset.private_chat, is_direct=True
            )
            assert isinstance(created, nio.RoomCreateResponse), created
            room_id = created.room_id

            async def ole_invited() -> bool:
                await ole.sync(timeout=1000)
                return room_id in ole.invited_rooms

            await eventually(ole_invited, what="Ole's invitation")
            assert isinstance(await ole.join(room_id), nio.JoinResponse)

            async def karen_sees_ole() -> bool:
                await karen.sync(timeout=1000)
                room = karen.rooms.get(room_id)
                return room is not None and ole.user_id in room.users and room.encrypted

            await eventually(karen_sees_ole, what="Karen's worker to see Ole join")
            sent = await karen.room_send(
                room_id,
                "m.room.message",
                {"msgtype": "m.text", "body": "Hej Ole, skal vi tale om haven?"},
                ignore_unverified_devices=True,
            )
            assert isinstance(sent, nio.RoomSendResponse), sent

            (message,) = await messages_from(ole, room_id, karen.user_id)
            assert message.body == "Hej Ole, skal vi tale om haven?"

        # Karen's syncing and sending went to the worker; only what a generic worker
        # may not do (key uploads, to-device messages) reached the main process.
        assert any(line.startswith("worker GET /_matrix/client/v3/sync") for line in routed)
        assert any(
            line.startswith(f"worker PUT /_matrix/client/v3/rooms/{room_id}/send/")
            for line in routed
        ), routed
        assert any(line.startswith("worker POST /_matrix/client/v3/createRoom") for line in routed)
        assert any("/sendToDevice/" in line and line.startswith("main") for line in routed)
    finally:
        for client in clients:
            await client.close()
        runner.stop()
    for pid in runner.pids.values():
        assert not pid_alive(pid)


# --- Calls: Synapse's TURN credentials open a coturn allocation ---------------------


@pytest.fixture(scope="module")
def turn_deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Synapse (SQLite is enough here) told about a coturn on loopback."""
    settings = settings_for(
        tmp_path_factory.mktemp("turn"),
        turn_host="127.0.0.1",
        turn_port=free_port(),
        turn_listening_ips=["127.0.0.1"],
        turn_min_port=49700,
        turn_max_port=49800,
        # The relay's peers are on this machine in a test; never in production.
        turn_allow_loopback_peers=True,
        turn_user_lifetime="30m",
    )
    prepare_files(settings)
    runner = SynapseRunner(settings)
    runner.start()
    try:
        yield settings
    finally:
        runner.stop()


async def turn_credentials(settings: Settings) -> dict[str, Any]:
    """A fresh person asks Synapse for TURN credentials, as Element does before a call."""
    keys = load_secrets(settings.paths.secrets)
    async with SynapseAdmin(
        settings.synapse.url, shared_secret=keys.registration_shared_secret
    ) as admin:
        made = await admin.register(f"caller-{secrets.token_hex(3)}", secrets.token_urlsafe(12))
        answer: dict[str, Any] = await admin.request(
            "GET", "/_matrix/client/v3/voip/turnServer", token=made["access_token"]
        )
    return answer


@pytest.fixture
def coturn_binary() -> str:
    if not coturn_installed() or shutil.which("turnutils_uclient") is None:
        unavailable("coturn (Debian package coturn)", "turnserver is not on PATH")
    return "turnutils_uclient"


def relay_through(
    settings: Settings, username: str, password: str
) -> subprocess.CompletedProcess[str]:
    """Two clients allocate relays on coturn and send each other packets through them."""
    return subprocess.run(
        [
            "turnutils_uclient",
            "-u", username,
            "-w", password,
            "-p", str(settings.synapse.turn_port),
            "-y",  # client to client, both through the relay
            "-c",  # no RTCP
            "-n", "5",
            "-m", "1",
            "127.0.0.1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )  # fmt: skip


async def test_synapse_hands_out_time_limited_turn_credentials(
    turn_deployment: Settings,
) -> None:
    before = time.time()
    answer = await turn_credentials(turn_deployment)

    assert answer["uris"] == turn_deployment.synapse.turn_client_uris
    assert answer["ttl"] == 30 * 60
    expiry, _, user_id = answer["username"].partition(":")
    assert user_id.startswith("@caller-")
    assert before + 30 * 60 - 5 <= int(expiry) <= time.time() + 30 * 60 + 5
    # coturn checks the password with the secret in its own rendered configuration.
    secret = turnserver_options(turnserver_conf_path(turn_deployment))["static-auth-secret"][0]
    expected = hmac.new(secret.encode(), answer["username"].encode(), hashlib.sha1).digest()
    assert answer["password"] == base64.b64encode(expected).decode()


async def test_coturn_relays_a_call_with_synapse_credentials(
    turn_deployment: Settings, coturn_binary: str
) -> None:
    answer = await turn_credentials(turn_deployment)
    coturn = CoturnRunner(turn_deployment)
    coturn.start()
    try:
        relayed = relay_through(turn_deployment, answer["username"], answer["password"])
        refused = relay_through(turn_deployment, answer["username"], "not-the-password")
    finally:
        coturn.stop()
    assert not pid_alive(coturn.process.pid)

    assert relayed.returncode == 0, relayed.stdout + relayed.stderr
    assert "Total lost packets 0 (0.000000%)" in relayed.stdout, relayed.stdout
    assert refused.returncode != 0
    assert "Cannot complete Allocation" in refused.stdout + refused.stderr


async def test_coturn_in_production_will_not_relay_into_this_machine(
    turn_deployment: Settings, coturn_binary: str, tmp_path: Path
) -> None:
    # The production configuration: same secret, but no loopback exception.
    production = load_settings(
        tmp_path,
        synapse={
            **turn_deployment.synapse.model_dump(),
            "turn_allow_loopback_peers": False,
            "turn_port": free_port(),
        },
    )
    keys = load_secrets(turn_deployment.paths.secrets)
    render_turn_config(production, keys)
    answer = await turn_credentials(turn_deployment)
    coturn = CoturnRunner(production)
    coturn.start()
    try:
        attempt = relay_through(production, answer["username"], answer["password"])
    finally:
        coturn.stop()

    assert attempt.returncode != 0
    assert "403 (Forbidden IP)" in attempt.stdout + attempt.stderr


# --- `connec up` runs all of it ------------------------------------------------------


def read_until(process: subprocess.Popen[str], line: str, *, timeout: float) -> str:
    """The process' output up to and including ``line``; fails with all of it otherwise."""
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        chunk = process.stdout.readline()
        if chunk:
            seen += chunk
            if chunk.strip() == line:
                return seen
        elif process.poll() is not None:
            break
        else:
            time.sleep(0.1)
    raise AssertionError(f"no line {line!r}; output was:\n{seen}")


@pytest.mark.postgres
def test_connec_up_runs_workers_and_coturn_and_stops_them_all(
    tmp_path: Path, synapse_database: str, redis_url: str, coturn_binary: str
) -> None:
    data = tmp_path / "var"
    data.mkdir()
    worker_port, replication_port, turn_port = free_port(), free_port(), free_port()
    # init starts Synapse for a moment: on a port of its own, never a neighbour's 8008.
    (data / "connec.toml").write_text(
        f"""
[synapse]
server_name = "up-{uuid.uuid4().hex[:6]}.test"
port = {free_port()}
postgres_dsn = "{synapse_database}"
redis_url = "{redis_url}"
workers = 1
worker_port = {worker_port}
replication_port = {replication_port}
turn_host = "127.0.0.1"
turn_port = {turn_port}
turn_listening_ips = ["127.0.0.1"]
coturn = true
"""
    )
    env = {
        **os.environ,
        "CONNEC_MATCHMAKER__METRICS_PORT": "0",
        "CONNEC_SCHEDULER__METRICS_PORT": "0",
    }
    command = [sys.executable, "-m", "connec.cli"]
    init = subprocess.run(
        [*command, "init", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )
    assert init.returncode == 0, init.stdout + init.stderr

    up = subprocess.Popen(
        [*command, "up", "--synapse-port", "0", "--portal-port", "0", "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        read_until(up, "connec is ready", timeout=180)
        stack = json.loads((data / "stack.json").read_text())
        assert {"synapse", "generic_worker1", "coturn"} <= set(stack["pids"])
        worker = stack["synapse_workers"]["generic_worker1"]
        assert worker["url"] == f"http://127.0.0.1:{worker_port}"
        assert worker["pid"] == stack["pids"]["generic_worker1"]
        assert http_ok(f"{worker['url']}/health")
        with socket.create_connection(("127.0.0.1", turn_port), timeout=2):
            pass  # coturn listens
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(20)
    for name in ("synapse", "generic_worker1", "coturn"):
        assert not pid_alive(stack["pids"][name]), f"{name} still runs"
