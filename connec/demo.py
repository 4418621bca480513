"""`connec demo federation`: a municipality and a volunteer organisation on one machine.

Two data folders under ``--data-dir`` (``municipality/`` and ``organisation/``), each a
whole connec deployment with its own Synapse, bots and portal. Each Synapse serves
federation over TLS on its own port with the certificate `connec init` made, trusts
the other's CA and lists the other in its allow-list: the test and demo profile of
docs/production.md. The organisation's coordinator is made a coordinator in the
municipality's coordinators' room, where they approve their own volunteers.

Nothing here is for production: the ``federation_on_loopback`` profile lets Synapse
reach loopback addresses, which a real deployment must never do.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from connec.federation_tls import ensure_federation_tls, federation_tls
from connec.settings import CONFIG_FILE, Settings, load_settings

READY_LINE = "connec is ready"
READY_TIMEOUT = 240.0


@dataclass(frozen=True)
class Deployment:
    """One side of the demo and the ports it keeps."""

    name: str
    synapse_port: int
    federation_port: int
    portal_port: int

    @property
    def server_name(self) -> str:
        return f"localhost:{self.federation_port}"

    def folder(self, root: Path) -> Path:
        return root / self.name


FIRST_PORT = 8440  # away from `make run`'s 8008 and 8080, so both can run at once


def deployments(first_port: int = FIRST_PORT) -> tuple[Deployment, Deployment]:
    """The municipality on ``first_port`` and the two after it, the organisation ten up."""
    return (
        Deployment("municipality", first_port, first_port + 1, first_port + 2),
        Deployment("organisation", first_port + 10, first_port + 11, first_port + 12),
    )


def config_text(me: Deployment, other: Deployment, root: Path) -> str:
    """connec.toml for one side: its ports, TLS federation, the other trusted."""
    other_ca = federation_tls_ca(other.folder(root))
    return (
        "# connec demo federation: one of two deployments on this machine (test and demo\n"
        "# profile; never for production, see docs/production.md).\n"
        "[synapse]\n"
        f'server_name = "{me.server_name}"\n'
        f"port = {me.synapse_port}\n"
        "metrics_port = 0\n"
        f"federation_port = {me.federation_port}\n"
        "federation_on_loopback = true\n"
        f'federation_allowlist = ["{other.server_name}"]\n'
        f'federation_trusted_cas = ["{other_ca}"]\n\n'
        "[portal]\n"
        f"port = {me.portal_port}\n\n"
        "[matchmaker]\nmetrics_port = 0\n\n"
        "[scheduler]\nmetrics_port = 0\n"
    )


def federation_tls_ca(folder: Path) -> Path:
    return federation_tls(load_settings(folder)).ca_certificate


def prepare(root: Path, pair: tuple[Deployment, Deployment]) -> list[Settings]:
    """Both connec.toml files and both certificates, before either Synapse starts (each
    reads the other's CA when it starts). Files already there are kept."""
    for me, other in ((pair[0], pair[1]), (pair[1], pair[0])):
        folder = me.folder(root)
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / CONFIG_FILE
        if not config.exists():
            config.write_text(config_text(me, other, root))
    settings = [load_settings(d.folder(root)) for d in pair]
    for one in settings:
        ensure_federation_tls(one)
    return settings


def init_both(settings: list[Settings]) -> None:
    """`connec init` for each side (accounts, coordinators' room), once."""
    from connec.provision import init

    for one in settings:
        if not one.paths.coordinator_password.exists():
            asyncio.run(init(one))


def _connec(*args: str) -> list[str]:
    return [sys.executable, "-m", "connec.cli", *args]


def start_up(folder: Path, log: Path) -> subprocess.Popen[bytes]:
    """`connec up` for one side, its output in ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            _connec("up", "--data-dir", str(folder)),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_ready(process: subprocess.Popen[bytes], log: Path, name: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if READY_LINE in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            raise RuntimeError(f"the {name}'s connec stopped while starting; see {log}")
        time.sleep(0.5)
    raise RuntimeError(f"the {name}'s connec was not ready within {READY_TIMEOUT:.0f} s; see {log}")


def organisation_coordinator_joins(settings: list[Settings]) -> str:
    """Make the organisation's first coordinator a coordinator in the municipality's
    coordinators' room (invited over federation); answers what was said."""
    municipality, organisation = settings
    coordinator = organisation.user_id(organisation.coordinator_localpart)
    done = subprocess.run(
        _connec(
            "staff",
            "add",
            "Organisation coordinator",
            "--role",
            "coordinator",
            "--matrix-id",
            coordinator,
            "--data-dir",
            str(municipality.data_dir),
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    return (done.stdout + done.stderr).strip()


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM to each `connec up` we started (each stops its own parts), then wait."""
    for process in processes:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
