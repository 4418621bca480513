"""Who may do what on the portal."""

from __future__ import annotations

from portal.permissions import (
    in_scope,
    may_decide_volunteer,
    may_enrol,
    may_erase_self,
    may_see_citizen,
)


def test_frontline_workers_enrol_and_see_only_their_own_municipality() -> None:
    assert may_enrol("frontline", "Aarhus")
    assert not may_enrol("frontline", None) and not may_enrol("coordinator", "Aarhus")
    assert may_see_citizen("frontline", "Aarhus", "citizen", "Aarhus")
    assert may_see_citizen("frontline", "Aarhus", "peer", "Aarhus")
    assert not may_see_citizen("frontline", "Aarhus", "citizen", "Odense")
    assert not may_see_citizen("frontline", "Aarhus", "volunteer", "Aarhus")
    assert not may_see_citizen("citizen", "Aarhus", "citizen", "Aarhus")


def test_coordinators_decide_on_pending_volunteers_in_their_scope() -> None:
    assert may_decide_volunteer("coordinator", None, "volunteer", "Odense", "pending")
    assert may_decide_volunteer("coordinator", "Odense", "volunteer", "Odense", "pending")
    assert not may_decide_volunteer("coordinator", "Aarhus", "volunteer", "Odense", "pending")
    assert not may_decide_volunteer("coordinator", "Aarhus", "volunteer", None, "pending")
    assert not may_decide_volunteer("coordinator", None, "volunteer", None, "approved")
    assert not may_decide_volunteer("coordinator", None, "citizen", None, "pending")
    assert not may_decide_volunteer("frontline", None, "volunteer", None, "pending")
    assert in_scope(None, None) and not in_scope("Aarhus", None)


def test_only_citizens_and_volunteers_erase_themselves() -> None:
    assert all(may_erase_self(role) for role in ("citizen", "peer", "volunteer"))
    assert not any(may_erase_self(role) for role in ("coordinator", "frontline", None))
