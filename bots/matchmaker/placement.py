"""Placing one person who becomes free, without solving the whole country again.

After a round, every volunteer with room left has no waiting citizen who fits them
(otherwise the round would have paired them), and every waiting citizen none who
fits. So when one person becomes free, the best thing to do for the round as a
whole is simply to give them the best partner who is free now: that is the optimum
of what is left, until the next round looks at everything again.

:class:`Snapshot` keeps the last round's people, coded (made in the worker process
and handed to the bot); :func:`best_partners` scores one person against all of them
in milliseconds. Plain functions over plain data; the bot's side is in ``matching.py``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from bots.matchmaker import kernels
from bots.matchmaker.encoded import EncodedPeople, encode
from bots.matchmaker.scoring import InterestWeights, Profile

PARTNER_ROLES = {"citizen": "volunteer", "volunteer": "citizen", "peer": "peer"}


@dataclass(frozen=True)
class Snapshot:
    """The people of the last round, coded, with their roles and interest weights."""

    coded: EncodedPeople
    roles: np.ndarray  # role of each row, as text
    weights: InterestWeights
    taken_at: datetime


def best_partners(
    snapshot: Snapshot,
    person: Profile,
    *,
    today_year: int,
    min_score: float = 0.0,
    leave_out: Collection[int] = (),
    most: int = 20,
) -> list[tuple[int, float]]:
    """Up to ``most`` people of the snapshot who may be proposed to ``person``, best first.

    As ``(person id, score)``; the right role only (citizens meet volunteers, peers
    meet peers), nobody in ``leave_out``, and only pairs above ``min_score``.
    """
    partner_role = PARTNER_ROLES.get(person.role)
    if partner_role is None:
        return []
    rows = np.flatnonzero(snapshot.roles == partner_role).astype(np.int32)
    if leave_out:
        ids = snapshot.coded.person_ids[rows]
        rows = rows[~np.isin(ids, np.fromiter(leave_out, dtype=np.int64))]
    rows = rows[snapshot.coded.person_ids[rows] != person.person_id]
    if len(rows) == 0:
        return []
    one = encode([person], weights=snapshot.weights, today_year=today_year, like=snapshot.coded)
    shared = one.shared()  # the snapshot's codes, extended by anything new this person brings
    values = kernels.pair_values(
        one.side(np.zeros(1, dtype=np.int32)),
        snapshot.coded.side(rows),
        shared,
        np.zeros(len(rows), dtype=np.int32),
        np.arange(len(rows), dtype=np.int32),
    )
    fits = np.flatnonzero(values > min_score)
    ids = snapshot.coded.person_ids[rows[fits]]
    order = np.lexsort((ids, -values[fits]))[:most]
    return [(int(ids[i]), float(values[fits][i])) for i in order]
