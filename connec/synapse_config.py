"""Rendering Synapse's configuration from connec's templates in ``synapse-config/``.

Besides ``homeserver.yaml`` and its log configuration this renders what a production
deployment adds: one configuration per generic worker, coturn's ``turnserver.conf``
and the two ``.well-known`` documents.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jinja2

from connec.federation_tls import federation_tls
from connec.secrets import Secrets, write_private
from connec.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = REPO_ROOT / "synapse-config"
WORKER_APP = "synapse.app.generic_worker"


def _environment(*, line_blocks: bool = False) -> jinja2.Environment:
    if not TEMPLATE_DIR.is_dir():
        raise FileNotFoundError(
            f"{TEMPLATE_DIR} is missing: connec must be installed from its source tree "
            "(pip install -e .)."
        )
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        # Flat files like turnserver.conf read best without the blank lines block tags leave.
        trim_blocks=line_blocks,
        lstrip_blocks=line_blocks,
    )


def postgres_args(dsn: str) -> dict[str, str]:
    """Turn ``postgresql://user@host:port/db`` into psycopg2 connection arguments."""
    parts = urlsplit(dsn)
    args = {
        "user": unquote(parts.username or "postgres"),
        "database": parts.path.lstrip("/") or "synapse",
        "host": parts.hostname or "127.0.0.1",
        "port": str(parts.port or 5432),
    }
    if parts.password:
        args["password"] = unquote(parts.password)
    return args


def redis_args(url: str) -> dict[str, Any]:
    """Turn ``redis://[:password@]host:port/dbid`` into Synapse's ``redis`` settings."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"synapse.redis_url must start with redis:// or rediss://, not {url!r}")
    database = parts.path.strip("/")
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 6379,
        "dbid": int(database) if database else 0,
        "password": unquote(parts.password) if parts.password else None,
        "use_tls": parts.scheme == "rediss",
    }


def federation_address(settings: Settings) -> str:
    """``host:port`` other homeservers use to reach this one (``m.server``)."""
    parts = urlsplit(settings.synapse.client_url)
    return f"{parts.hostname}:{parts.port or 443}"


@dataclass(frozen=True)
class SynapseWorker:
    """One generic worker: its name, where it answers, and its configuration files."""

    name: str
    port: int
    url: str
    config: Path
    log_config: Path


def synapse_workers(settings: Settings) -> list[SynapseWorker]:
    """The generic workers this deployment runs (none in the dev profile)."""
    folder = workers_dir(settings)
    synapse = settings.synapse
    return [
        SynapseWorker(
            name=name,
            port=synapse.worker_port + index,
            url=synapse.worker_url(name),
            config=folder / f"{name}.yaml",
            log_config=folder / f"{name}.log.yaml",
        )
        for index, name in enumerate(synapse.worker_names)
    ]


def workers_dir(settings: Settings) -> Path:
    """Where the generic workers' configurations are rendered."""
    return settings.paths.synapse / "workers"


def coturn_dir(settings: Settings) -> Path:
    """coturn's folder in the data folder: its configuration, PID file and database."""
    return settings.paths.root / "coturn"


def turnserver_conf_path(settings: Settings) -> Path:
    """The rendered turnserver.conf (mode 0600: it holds the TURN secret)."""
    return coturn_dir(settings) / "turnserver.conf"


def well_known_dir(settings: Settings) -> Path:
    """Files to serve at ``https://<server_name>/.well-known/matrix/``."""
    return settings.paths.root / "well-known"


def _context(settings: Settings, secrets: Secrets) -> dict[str, Any]:
    synapse = settings.synapse
    return {
        "synapse": synapse,
        "paths": settings.paths,
        "secrets": secrets,
        "portal_url": settings.portal.client_url,
        "postgres_args": postgres_args(synapse.postgres_dsn or ""),
        "redis": redis_args(synapse.redis_url) if synapse.redis_url else {},
        "turn_uris": synapse.turn_client_uris,
        "synapse_log_level": settings.log_level,
        "log_name": "synapse",
        "coturn_dir": coturn_dir(settings),
        "federation_address": federation_address(settings),
        "synapse_on_loopback": _is_loopback(synapse.host),
        "federation_tls": federation_tls(settings),
    }


def _is_loopback(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def render_synapse_config(settings: Settings, secrets: Secrets) -> list[Path]:
    """Write homeserver.yaml (0600, it holds secrets), the log config and the workers'."""
    paths = settings.paths
    for folder in (paths.synapse, paths.media, paths.logs):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = _environment()
    context = _context(settings, secrets)
    write_private(paths.homeserver_yaml, env.get_template("homeserver.yaml.j2").render(context))
    paths.synapse_log_config.write_text(env.get_template("log.yaml.j2").render(context))
    written = [paths.homeserver_yaml, paths.synapse_log_config]

    workers = synapse_workers(settings)
    folder = workers_dir(settings)
    if workers:
        folder.mkdir(exist_ok=True)
    for worker in workers:
        worker_context = {**context, "worker": worker, "log_name": worker.name}
        worker.config.write_text(env.get_template("worker.yaml.j2").render(worker_context))
        worker.log_config.write_text(env.get_template("log.yaml.j2").render(worker_context))
        written += [worker.config, worker.log_config]
    # Fewer workers than before: the surplus files would only mislead an operator.
    if folder.is_dir():
        for stale in set(folder.glob("*.yaml")) - set(written):
            stale.unlink()
    return written


def render_turn_config(settings: Settings, secrets: Secrets) -> Path | None:
    """Write coturn's turnserver.conf (0600) when TURN is configured; None when not."""
    path = turnserver_conf_path(settings)
    if not settings.synapse.turn_client_uris:
        return None
    coturn_dir(settings).mkdir(parents=True, exist_ok=True)
    template = _environment(line_blocks=True).get_template("turnserver.conf.j2")
    write_private(path, template.render(_context(settings, secrets)))
    return path


def render_well_known(settings: Settings) -> list[Path]:
    """Write ``well-known/matrix/client`` and ``.../server``, laid out as they are served.

    The folder maps onto ``https://<server_name>/.well-known/`` one to one, so a web
    server serves it with one alias (docs/production.md).
    """
    folder = well_known_dir(settings) / "matrix"
    folder.mkdir(parents=True, exist_ok=True)
    # Served by the web server (another user): public, whatever connec's umask.
    for public in (well_known_dir(settings), folder):
        public.chmod(0o755)
    env = _environment()
    context = {"synapse": settings.synapse, "federation_address": federation_address(settings)}
    written = []
    for name in ("client", "server"):
        path = folder / name
        path.write_text(env.get_template(f"well-known-{name}.json.j2").render(context))
        path.chmod(0o644)
        written.append(path)
    return written


def synapse_command(settings: Settings, *extra: str) -> list[str]:
    """The command line that runs this deployment's Synapse with our interpreter."""
    return [
        sys.executable,
        "-m",
        "synapse.app.homeserver",
        "-c",
        str(settings.paths.homeserver_yaml),
        *extra,
    ]


def worker_command(settings: Settings, worker: SynapseWorker) -> list[str]:
    """The command line that runs one generic worker: the shared config plus its own."""
    return [
        sys.executable,
        "-m",
        WORKER_APP,
        "-c",
        str(settings.paths.homeserver_yaml),
        "-c",
        str(worker.config),
    ]


def describe_command(command: list[str]) -> str:
    return shlex.join(command)
