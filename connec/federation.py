"""Whom connec can reach: its own server, and the servers on the federation allow-list.

Synapse refuses every other server (``federation_domain_whitelist``); these plain
functions let connec say so in words before it tries, instead of failing later in a
room invitation nobody sees.
"""

from __future__ import annotations

from connec.settings import SynapseSettings


def server_of(matrix_id: str) -> str:
    """``@anna:frivillig.dk`` -> ``frivillig.dk`` (a port stays: ``localhost:8449``)."""
    return matrix_id.partition(":")[2].lower()


def is_own(matrix_id: str, synapse: SynapseSettings) -> bool:
    """Whether this person's account is on this deployment's own server."""
    return server_of(matrix_id) == synapse.server_name.lower()


def is_reachable(matrix_id: str, synapse: SynapseSettings) -> bool:
    """Whether connec may talk to this person: on its own server, or on an allowed one."""
    server = server_of(matrix_id)
    allowed = {synapse.server_name.lower(), *(s.lower() for s in synapse.federation_allowlist)}
    return server in allowed


def refusal(matrix_id: str, synapse: SynapseSettings) -> str | None:
    """Why this person cannot be brought into a room, for an operator; None when they can."""
    if is_reachable(matrix_id, synapse):
        return None
    allowed = ", ".join(synapse.federation_allowlist) or "no other server"
    return (
        f"{matrix_id} is on {server_of(matrix_id)}, which this homeserver does not federate "
        f"with (synapse.federation_allowlist: {allowed}). Both servers must list each other "
        "first; see docs/production.md."
    )
