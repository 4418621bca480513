"""Who may do what: pure checks over room state, no network."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

COORDINATOR_LEVEL = 50


def power_level(
    user_id: str,
    power_levels: Mapping[str, Any],
    create_event: Mapping[str, Any] | None = None,
) -> float:
    """A user's power in a room.

    From room version 12 the room's creators (the sender of ``m.room.create`` and any
    ``additional_creators``) outrank every power level and are not listed in it.
    """
    if create_event is not None:
        creators: Sequence[str] = [
            create_event.get("sender", ""),
            *create_event.get("content", {}).get("additional_creators", []),
        ]
        version = str(create_event.get("content", {}).get("room_version", "1"))
        if user_id in creators and version.isdecimal() and int(version) >= 12:
            return float("inf")
    users = power_levels.get("users", {})
    if user_id in users:
        return float(users[user_id])
    return float(power_levels.get("users_default", 0))


def is_coordinator(
    user_id: str,
    room_id: str,
    coordinators_room_id: str | None,
    power_levels: Mapping[str, Any],
    create_event: Mapping[str, Any] | None = None,
) -> bool:
    """A coordinator is someone with power 50+ in the coordinators' room, speaking there."""
    return (
        coordinators_room_id is not None
        and room_id == coordinators_room_id
        and power_level(user_id, power_levels, create_event) >= COORDINATOR_LEVEL
    )
