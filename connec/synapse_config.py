"""Rendering Synapse's configuration from connec's templates in ``synapse-config/``."""

from __future__ import annotations

import shlex
from pathlib import Path
from urllib.parse import urlsplit

import jinja2

from connec.secrets import Secrets, write_private
from connec.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = REPO_ROOT / "synapse-config"


def _environment() -> jinja2.Environment:
    if not TEMPLATE_DIR.is_dir():
        raise FileNotFoundError(
            f"{TEMPLATE_DIR} is missing: connec must be installed from its source tree "
            "(pip install -e .)."
        )
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def postgres_args(dsn: str) -> dict[str, str]:
    """Turn ``postgresql://user@host:port/db`` into psycopg2 connection arguments."""
    parts = urlsplit(dsn)
    args = {
        "user": parts.username or "postgres",
        "database": parts.path.lstrip("/") or "synapse",
        "host": parts.hostname or "127.0.0.1",
        "port": str(parts.port or 5432),
    }
    if parts.password:
        args["password"] = parts.password
    return args


def render_synapse_config(settings: Settings, secrets: Secrets) -> list[Path]:
    """Write homeserver.yaml (0600, it holds secrets) and the log config."""
    paths = settings.paths
    for folder in (paths.synapse, paths.media, paths.logs):
        folder.mkdir(parents=True, exist_ok=True)
    env = _environment()
    context = {
        "synapse": settings.synapse,
        "paths": paths,
        "secrets": secrets,
        "portal_url": settings.portal.client_url,
        "postgres_args": postgres_args(settings.synapse.postgres_dsn or ""),
        "synapse_log_level": settings.log_level,
    }
    write_private(paths.homeserver_yaml, env.get_template("homeserver.yaml.j2").render(context))
    paths.synapse_log_config.write_text(env.get_template("log.yaml.j2").render(context))
    return [paths.homeserver_yaml, paths.synapse_log_config]


def synapse_command(settings: Settings, *extra: str) -> list[str]:
    """The command line that runs this deployment's Synapse with our interpreter."""
    import sys

    return [
        sys.executable,
        "-m",
        "synapse.app.homeserver",
        "-c",
        str(settings.paths.homeserver_yaml),
        *extra,
    ]


def describe_command(command: list[str]) -> str:
    return shlex.join(command)
