"""The vocabulary of a person's profile, shared by the portal, the bots and import.

Plain data and pure checks; no database, no network.
"""

from __future__ import annotations

from typing import Literal

Role = Literal["citizen", "volunteer", "peer", "coordinator", "frontline"]
MATCHABLE_ROLES = ("citizen", "volunteer", "peer")
STAFF_ROLES = ("coordinator", "frontline")

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PARTS_OF_DAY = ("am", "pm", "eve")
# Weekly availability slots, in week order: "mon-am", "mon-pm", "mon-eve", ...
SLOTS = tuple(f"{day}-{part}" for day in DAYS for part in PARTS_OF_DAY)
CONTACT_MODES = ("chat", "voice", "video")
GENDERS = ("female", "male", "other")
STATES = ("active", "paused", "ended")
APPROVALS = ("pending", "approved", "rejected")
MIN_CAPACITY, MAX_CAPACITY = 1, 3
VOLUNTEER_MIN_AGE = 18
DEMO_SERVER = "demo.invalid"
"""Made-up people (``connec demo data``) live on this server, which cannot exist (RFC 2606):
they fill the evidence report, and the bots never greet, match or ask them."""


def age_band(birth_year: int | None, this_year: int) -> str | None:
    """An age band like "70-79": enough to picture someone, without their birth year."""
    if birth_year is None:
        return None
    age = this_year - birth_year
    low = (age // 10) * 10
    return f"{low}-{low + 9}"
