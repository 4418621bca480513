"""Running this deployment's Synapse as a child process."""

from __future__ import annotations

import socket
import subprocess

from connec.processes import ManagedProcess, StartError, http_ok, wait_until
from connec.settings import Settings
from connec.synapse_config import synapse_command


def port_free(host: str, port: int) -> bool:
    """Whether nothing listens on host:port yet."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (for tests and `connec up --synapse-port 0`)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def generate_signing_key(settings: Settings) -> None:
    """Let Synapse make its own signing key, once."""
    if settings.paths.signing_key.exists():
        return
    result = subprocess.run(
        synapse_command(settings, "--generate-keys"),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not settings.paths.signing_key.exists():
        raise StartError(f"Synapse could not make its signing key:\n{result.stderr[-2000:]}")


class SynapseRunner:
    """Start Synapse, wait for /health, stop it by its PID."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.process = ManagedProcess(
            name="synapse",
            command=synapse_command(settings),
            log_path=settings.paths.logs / "synapse.out",
        )

    @property
    def health_url(self) -> str:
        return f"{self.settings.synapse.url}/health"

    def start(self) -> None:
        synapse = self.settings.synapse
        if not port_free(synapse.host, synapse.port):
            raise StartError(
                f"Port {synapse.port} on {synapse.host} is already taken, so Synapse cannot "
                "listen there. Stop what uses it, or choose another port with "
                "--synapse-port."
            )
        self.process.start()
        wait_until(
            lambda: http_ok(self.health_url),
            timeout=synapse.start_timeout,
            process=self.process,
            what="Synapse",
        )

    def stop(self) -> None:
        self.process.stop()
