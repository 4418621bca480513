"""`connec bench match --circles`: forming circles for a made-up Denmark.

The same seeded population as `connec bench match` (:mod:`bots.matchmaker.population`):
every citizen is waiting and may join a circle; every volunteer offers to host one
circle about their first interest. Printed per size: the time to form (candidates,
greedy and CP-SAT together, interest weights included), peak memory, how many
citizens were placed in how many circles, the greedy objective against the final
one, and which step gave the answer.

Exit code 1 when 10,000 waiting citizens take a minute or more.
"""

from __future__ import annotations

import resource
import time

from rich.console import Console
from rich.table import Table

from bots.matchmaker.circle_forming import form_circles, hosts_from_interests
from bots.matchmaker.population import SIZES, population
from bots.matchmaker.scoring import interest_weights

YEAR = 2025
TARGET_SECONDS = 60.0
BUDGET_S = 50.0  # the round's own budget: CP-SAT improves within what greedy leaves


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(console: Console, *, size: str = "10k", time_limit_s: float = 20.0) -> int:
    citizens = SIZES[size]
    people = population(citizens, today_year=YEAR)
    members = [p for p in people if p.role == "citizen"]
    started = time.perf_counter()
    hosts = hosts_from_interests(p for p in people if p.role == "volunteer")
    weights = interest_weights(people)
    forming = form_circles(
        members, hosts, weights, year=YEAR, time_limit_s=time_limit_s, budget_s=BUDGET_S
    )
    seconds = time.perf_counter() - started
    sizes = [len(c.member_ids) + 1 for c in forming.circles]
    table = Table(title=f"forming circles: {len(members):,} waiting citizens, {len(hosts):,} hosts")
    for column in ("figure", "value"):
        table.add_column(column)
    rows = (
        ("wall time", f"{seconds:.1f} s (budget {BUDGET_S:.0f} s; CP-SAT at most "
         f"{time_limit_s:.0f} s, 2 workers)"),
        ("of which candidates and greedy", f"{forming.greedy_seconds:.1f} s"),
        ("peak memory", f"{_peak_mb():.0f} MB"),
        ("candidate places (member, circle)", f"{forming.candidates:,}"),
        ("circles", f"{len(forming.circles):,}"),
        ("citizens placed", f"{forming.placed:,} of {len(members):,}"),
        ("circle sizes (with host)", f"{min(sizes, default=0)}-{max(sizes, default=0)}, "
         f"mean {sum(sizes) / max(1, len(sizes)):.1f}"),
        ("objective greedy / final", f"{forming.greedy_objective:,} / {forming.objective:,}"),
        ("answer from", forming.solver),
    )  # fmt: skip
    for row in rows:
        table.add_row(*row)
    console.print(table)
    if citizens >= 10_000 and seconds >= TARGET_SECONDS:
        console.print(f"[red]{size}: {seconds:.1f} s, the target is under {TARGET_SECONDS:.0f} s")
        return 1
    return 0
