"""Who may do what on the portal: plain checks over roles and municipalities.

Frontline workers work for one municipality and see only its citizens. A
coordinator with a municipality sees that municipality's people; a coordinator
without one (like the one ``connec init`` makes) sees the whole deployment.
"""

from __future__ import annotations

from connec.people import MATCHABLE_ROLES

CITIZEN_ROLES = ("citizen", "peer")


def in_scope(staff_municipality: str | None, person_municipality: str | None) -> bool:
    """Whether a staff member working for ``staff_municipality`` may see this person."""
    # Exact, as the database compares: both come from the same list of municipalities.
    return staff_municipality is None or person_municipality == staff_municipality


def may_enrol(role: str | None, municipality: str | None) -> bool:
    """Frontline workers enrol citizens, and only with a municipality of their own."""
    return role == "frontline" and bool(municipality)


def may_see_citizen(
    role: str | None,
    municipality: str | None,
    citizen_role: str,
    citizen_municipality: str | None,
) -> bool:
    """A frontline worker sees the citizens of their own municipality, and nobody else."""
    return (
        may_enrol(role, municipality)
        and citizen_role in CITIZEN_ROLES
        and in_scope(municipality, citizen_municipality)
    )


def may_decide_volunteer(
    role: str | None,
    municipality: str | None,
    volunteer_role: str,
    volunteer_municipality: str | None,
    approval: str,
) -> bool:
    """A coordinator approves or turns down a pending volunteer within their scope."""
    return (
        role == "coordinator"
        and volunteer_role == "volunteer"
        and approval == "pending"
        and in_scope(municipality, volunteer_municipality)
    )


def may_erase_self(role: str | None) -> bool:
    """Citizens and volunteers may erase themselves here; staff accounts belong to their
    employer and are closed by an operator, so a staff member cannot lock everyone out."""
    return role in MATCHABLE_ROLES
