"""Failed sign-ins are limited per account and per address, in a sliding window."""

from __future__ import annotations

from portal.signin_limits import FailedSignIns


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_account_is_blocked_after_its_fifth_failure_until_the_window_passes() -> None:
    ticks = Ticks()
    limits = FailedSignIns(per_account=5, per_address=100, window=900, clock=ticks)
    for _ in range(4):
        limits.failed("@karen:x", "10.0.0.1")
    assert not limits.blocked("@karen:x", "10.0.0.9")
    limits.failed("@Karen:x", "10.0.0.1")
    assert limits.blocked("@karen:x", "10.0.0.9")  # any address, any case
    assert not limits.blocked("@anna:x", "10.0.0.9")
    ticks.now = 901
    assert not limits.blocked("@karen:x", "10.0.0.9")


def test_an_address_spraying_many_names_is_blocked() -> None:
    limits = FailedSignIns(per_account=5, per_address=20, window=900, clock=Ticks())
    for n in range(20):
        limits.failed(f"@user{n}:x", "10.0.0.1")
    assert limits.blocked("@someone-new:x", "10.0.0.1")
    assert not limits.blocked("@someone-new:x", "10.0.0.2")


def test_a_right_password_clears_the_accounts_count() -> None:
    limits = FailedSignIns(per_account=2, clock=Ticks())
    limits.failed("@karen:x", "a")
    limits.succeeded("@karen:x")
    limits.failed("@karen:x", "a")
    assert not limits.blocked("@karen:x", "b")
