"""`connec doctor`: what is wrong, in plain words, and what to do about it."""

from __future__ import annotations

import enum
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from connec.private_files import readable_by_others
from connec.settings import Settings, load_settings
from connec.synapse_process import port_free


class Severity(enum.Enum):
    OK = "ok"
    WARNING = "warning"
    PROBLEM = "problem"


@dataclass(frozen=True)
class Finding:
    severity: Severity
    what: str
    advice: str = ""


def examine(data_dir: Path) -> list[Finding]:
    """Every check, in the order a person would want to fix things."""
    findings: list[Finding] = []
    paths_root = data_dir.resolve()
    if not (paths_root / "connec.toml").exists():
        return [
            Finding(
                Severity.PROBLEM,
                f"{paths_root} is not a connec data folder yet.",
                f"Run: connec init --data-dir {data_dir}",
            )
        ]
    try:
        settings = load_settings(data_dir)
    except (ValidationError, tomllib.TOMLDecodeError) as exc:
        return [
            Finding(
                Severity.PROBLEM,
                f"connec.toml cannot be read: {exc}",
                "Correct the value named above in connec.toml.",
            )
        ]
    findings.append(Finding(Severity.OK, f"Configuration read from {settings.paths.config}."))
    findings += _check_files(settings)
    findings += _check_running(settings)
    findings.append(_check_database(settings))
    return findings


def _check_files(settings: Settings) -> list[Finding]:
    paths = settings.paths
    found: list[Finding] = []
    for path, what in (
        (paths.secrets, "secrets"),
        (paths.homeserver_yaml, "Synapse's configuration"),
        (paths.signing_key, "Synapse's signing key"),
    ):
        if not path.exists():
            found.append(
                Finding(
                    Severity.PROBLEM,
                    f"{what.capitalize()} ({path}) is missing.",
                    f"Run: connec init --data-dir {paths.root}",
                )
            )
    if paths.secrets.exists():
        from connec.secrets import SecretsUnreadable, load_secrets

        try:
            load_secrets(paths.secrets)
        except SecretsUnreadable as problem:
            found.append(Finding(Severity.PROBLEM, str(problem)))
    for private, mode in readable_by_others(settings):
        kind = "folder" if private.folder else "file"
        others = "open" if private.folder else "read"
        found.append(
            Finding(
                Severity.PROBLEM,
                f"{private.path} holds {private.holds}, but other users on this machine may "
                f"{others} it (the {kind} has mode {mode:04o}; it should be "
                f"{private.mode:04o}).",
                f"Run: chmod {private.mode:o} {private.path}  (connec up does this too)",
            )
        )
    if not found:
        found.append(
            Finding(
                Severity.OK,
                "Secrets, databases, logs and the bots' keys are in place and only connec's "
                "user may read them.",
            )
        )
    return found


def _check_running(settings: Settings) -> list[Finding]:
    from connec.processes import http_ok
    from connec.stack import stack_status

    statuses = stack_status(settings.data_dir)
    synapse = settings.synapse
    if statuses is None:
        found: list[Finding] = [Finding(Severity.OK, "connec is not running (no stack.json).")]
        for name, port in (("Synapse", synapse.port), ("The portal", settings.portal.port)):
            if not port_free(synapse.host, port):
                answering = http_ok(f"http://{synapse.host}:{port}/health")
                found.append(
                    Finding(
                        Severity.PROBLEM,
                        f"Port {port} is taken by another program, so {name.lower()} cannot start "
                        "there."
                        + (
                            " Something answers /health there: is another connec running?"
                            if answering
                            else ""
                        ),
                        "Stop that program, or start connec on other ports: "
                        "connec up --synapse-port P --portal-port Q",
                    )
                )
        found += _synapse_log_problems(settings)
        return found
    found = []
    for status in statuses:
        if status.running and status.answering:
            found.append(
                Finding(Severity.OK, f"{status.name} runs (PID {status.pid}) and answers.")
            )
        elif status.running:
            found.append(
                Finding(
                    Severity.PROBLEM,
                    f"{status.name} runs (PID {status.pid}) but does not answer at {status.url}.",
                    f"Look at {settings.paths.logs / (status.name + '.log')}.",
                )
            )
        else:
            found.append(
                Finding(
                    Severity.PROBLEM,
                    f"{status.name} is not running, though stack.json says it should.",
                    "Stop connec (Ctrl-C) and start it again with make run.",
                )
            )
    return found


def _synapse_log_problems(settings: Settings) -> list[Finding]:
    """Why Synapse last failed to start, if its output says so."""
    out = settings.paths.logs / "synapse.out"
    if not out.exists():
        return []
    lines = out.read_text(errors="replace").splitlines()[-40:]
    errors = [line for line in lines if "Error" in line or "error" in line]
    if not errors:
        return []
    return [
        Finding(
            Severity.WARNING,
            "Synapse's last output reports an error:\n  " + "\n  ".join(errors[-5:]),
            f"The whole output is in {out}.",
        )
    ]


def _check_database(settings: Settings) -> Finding:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine

    from connec.db import alembic_config, sync_url

    try:
        engine = create_engine(sync_url(settings.db_url))
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
        engine.dispose()
    except Exception as exc:
        return Finding(
            Severity.PROBLEM,
            f"connec's database cannot be reached: {exc}",
            "Check database_url in connec.toml, and that the database server runs.",
        )
    head = ScriptDirectory.from_config(alembic_config(settings.db_url)).get_current_head()
    if current != head:
        return Finding(
            Severity.WARNING,
            f"connec's database is at schema {current}, the newest is {head}.",
            "It is brought up to date when connec starts (or: connec migrate).",
        )
    return Finding(Severity.OK, "connec's database answers and its schema is up to date.")
