"""Failed sign-ins, counted per account and per address, so passwords cannot be guessed.

Kept in memory: the portal is one process, and a restart forgetting the counts only
gives a guesser a few more tries, which Synapse's own login limits still bound.
Pure: the clock is passed in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from time import monotonic

WINDOW_SECONDS = 15 * 60
PER_ACCOUNT = 5
PER_ADDRESS = 20
_MAX_KEYS = 100_000  # bounds memory when someone sprays many names


class FailedSignIns:
    """Sliding-window counts of failed sign-ins; blocks a key once it reaches its limit."""

    def __init__(
        self,
        *,
        per_account: int = PER_ACCOUNT,
        per_address: int = PER_ADDRESS,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = monotonic,
    ) -> None:
        self.per_account = per_account
        self.per_address = per_address
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> int:
        times = self._failures.get(key)
        if not times:
            return 0
        cutoff = self.clock() - self.window
        while times and times[0] <= cutoff:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0
        return len(times)

    def blocked(self, account: str, address: str) -> bool:
        """Whether another try for ``account`` from ``address`` must wait."""
        return (
            self._recent("account:" + account.casefold()) >= self.per_account
            or self._recent("address:" + address) >= self.per_address
        )

    def failed(self, account: str, address: str) -> None:
        """Count one failed try against both the account and the address."""
        if len(self._failures) >= _MAX_KEYS:
            self._forget_old()
        now = self.clock()
        for key in ("account:" + account.casefold(), "address:" + address):
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, account: str) -> None:
        """A right password clears the account's count (the address keeps its count)."""
        self._failures.pop("account:" + account.casefold(), None)

    def _forget_old(self) -> None:
        for key in list(self._failures):
            self._recent(key)
