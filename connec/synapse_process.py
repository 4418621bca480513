"""Running this deployment's Synapse (and its workers and coturn) as child processes."""

from __future__ import annotations

import shutil
import socket
import subprocess

from connec.processes import ManagedProcess, StartError, http_ok, wait_until
from connec.settings import Settings
from connec.synapse_config import (
    synapse_command,
    synapse_workers,
    turnserver_conf_path,
    worker_command,
)

COTURN_START_TIMEOUT = 15.0


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
    """Start Synapse and its generic workers, wait for /health, stop them by PID."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.process = ManagedProcess(
            name="synapse",
            command=synapse_command(settings),
            log_path=settings.paths.logs / "synapse.out",
        )
        self.worker_specs = {worker.name: worker for worker in synapse_workers(settings)}
        self.workers: list[ManagedProcess] = []
        for worker in self.worker_specs.values():
            self.workers.append(
                ManagedProcess(
                    name=worker.name,
                    command=worker_command(settings, worker),
                    log_path=settings.paths.logs / f"{worker.name}.out",
                )
            )

    @property
    def health_url(self) -> str:
        return f"{self.settings.synapse.url}/health"

    @property
    def pids(self) -> dict[str, int]:
        """The PID of every process of this Synapse that has been started."""
        return {p.name: p.pid for p in (self.process, *self.workers) if p.popen is not None}

    def _ports(self) -> list[tuple[str, str, int, str]]:
        synapse = self.settings.synapse
        ports = [("Synapse", synapse.host, synapse.port, "choose another with --synapse-port")]
        if synapse.federation_port is not None:
            ports.append(
                (
                    "Synapse's federation listener",
                    synapse.host,
                    synapse.federation_port,
                    "set synapse.federation_port (and server_name with it)",
                )
            )
        if self.workers:
            ports.append(
                (
                    "Synapse's replication listener",
                    "127.0.0.1",
                    synapse.replication_port,
                    "set synapse.replication_port",
                ),
            )
            for spec in self.worker_specs.values():
                ports.append(
                    (f"the worker {spec.name}", synapse.host, spec.port, "set synapse.worker_port")
                )
        return ports

    def start(self) -> None:
        """Main process first (workers replicate from it), then every worker."""
        for what, host, port, remedy in self._ports():
            if not port_free(host, port):
                raise StartError(
                    f"Port {port} on {host} is already taken, so {what} cannot listen there. "
                    f"Stop what uses it, or {remedy}."
                )
        timeout = self.settings.synapse.start_timeout
        self.process.start()
        try:
            wait_until(
                lambda: http_ok(self.health_url),
                timeout=timeout,
                process=self.process,
                what="Synapse",
            )
            for worker in self.workers:
                worker.start()
            for worker in self.workers:
                self._wait_for(worker)
        except BaseException:
            self.stop()
            raise

    def alive(self) -> bool:
        """Whether the main process and every worker still run."""
        return all(p.alive() for p in (self.process, *self.workers))

    def revive(self) -> None:
        """Start again whatever has stopped: all of it if the main process went."""
        if not self.process.alive():
            self.stop()
            self.start()
            return
        for worker in self.workers:
            if not worker.alive():
                worker.start()
                self._wait_for(worker)

    def _wait_for(self, worker: ManagedProcess) -> None:
        url = f"{self.worker_specs[worker.name].url}/health"
        wait_until(
            lambda: http_ok(url),
            timeout=self.settings.synapse.start_timeout,
            process=worker,
            what=f"The Synapse worker {worker.name}",
        )

    def stop(self, timeout: float = 8.0) -> None:
        """Workers first (they would only log errors without the main process), then main."""
        for worker in self.workers:
            worker.stop(timeout)
        self.process.stop(timeout)


def coturn_installed() -> bool:
    """Whether coturn's ``turnserver`` is on PATH (Debian: ``apt-get install coturn``)."""
    return shutil.which("turnserver") is not None


def _tcp_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


class CoturnRunner:
    """coturn with the rendered turnserver.conf, as a child process stopped by PID."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.process = ManagedProcess(
            name="coturn",
            command=["turnserver", "-c", str(turnserver_conf_path(settings))],
            log_path=settings.paths.logs / "coturn.log",
        )

    @property
    def probe_host(self) -> str:
        """Where to check that coturn listens: its first address, or loopback."""
        ips = self.settings.synapse.turn_listening_ips
        return ips[0] if ips else "127.0.0.1"

    def start(self) -> None:
        if not coturn_installed():
            raise StartError(
                "synapse.coturn is on but coturn is not installed: "
                "`apt-get install coturn` (and keep its own systemd service disabled)."
            )
        if not turnserver_conf_path(self.settings).exists():
            raise StartError(f"{turnserver_conf_path(self.settings)} is missing: run connec init.")
        port = self.settings.synapse.turn_port
        if not port_free(self.probe_host, port):
            raise StartError(
                f"Port {port} on {self.probe_host} is already taken, so coturn cannot listen "
                "there. Is Debian's own coturn service running? (systemctl disable --now coturn)"
            )
        self.process.start()
        try:
            wait_until(
                lambda: _tcp_answers(self.probe_host, port),
                timeout=COTURN_START_TIMEOUT,
                process=self.process,
                what="coturn",
            )
        except BaseException:
            self.stop()
            raise

    def alive(self) -> bool:
        return self.process.alive()

    def stop(self, timeout: float = 8.0) -> None:
        self.process.stop(timeout)
