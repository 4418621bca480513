"""The report's statistics on small, fixed data, each figure worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connec.evidence.stats import (
    MONTH,
    Answer,
    Friendship,
    Interval,
    Pair,
    bootstrap,
    change_at,
    friendship_months,
    pairs_at,
    retention,
    waits,
)
from connec.visits import VisitSeries, visits

START = datetime(2025, 1, 1, 10, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def day(n: float) -> datetime:
    return START + timedelta(days=n)


def test_each_person_is_paired_with_the_answer_nearest_each_horizon_inside_its_window() -> None:
    answers = [
        # Asked every 90 days or so: one answer for each horizon.
        Answer(1, day(0), 8),
        Answer(1, day(90), 6),
        Answer(1, day(180), 5),
        Answer(1, day(370), 4),
        # Too early for 3 months (day 40), too late for it (day 150): that is 6 months.
        Answer(2, day(0), 7),
        Answer(2, day(40), 6),
        Answer(2, day(150), 7),
        # Only a first answer: never paired.
        Answer(3, day(0), 9),
    ]
    assert pairs_at(answers, 3) == [Pair(1, 8, 6)]
    assert pairs_at(answers, 6) == [Pair(1, 8, 5), Pair(2, 7, 7)]
    assert pairs_at(answers, 12) == [Pair(1, 8, 4)]


def test_the_first_answer_is_the_baseline_whatever_order_they_come_in() -> None:
    answers = [Answer(1, day(95), 5), Answer(1, day(0), 9), Answer(1, day(80), 6)]
    # Day 80 is 11 days from the aim (91), day 95 only 4: it counts.
    assert pairs_at(answers, 3) == [Pair(1, 9, 5)]


def test_paired_change_and_who_crossed_the_cut_off() -> None:
    pairs = [Pair(1, 8, 6), Pair(2, 7, 7), Pair(3, 9, 6), Pair(4, 6, 6), Pair(5, 7, 5)]
    change = change_at(pairs, 6, lonely_from=7, resamples=500, seed=1)
    # Differences -2, 0, -3, 0, -2: mean -7/5.
    assert change.people == 5
    assert change.before == pytest.approx(37 / 5)
    assert change.after == pytest.approx(30 / 5)
    assert change.change == pytest.approx(-1.4)
    # Lonely (7+) at the start: 8, 7, 9, 7. No longer: 8->6, 9->6, 7->5. Nobody became lonely.
    assert (change.lonely_before, change.moved_out, change.moved_in, change.net_out) == (4, 3, 0, 3)
    assert change.not_lonely_before == 1
    assert change.change_interval is not None
    assert change.change_interval.low <= -1.4 <= change.change_interval.high

    # With the common international cut-off (6+), everyone starts lonely and only 7->5 leaves.
    wider = change_at(pairs, 6, lonely_from=6, resamples=500, seed=1)
    assert (wider.lonely_before, wider.moved_out, wider.moved_in) == (5, 1, 0)


def test_someone_who_became_lonely_counts_against_the_net_number() -> None:
    pairs = [Pair(1, 8, 5), Pair(2, 5, 8), Pair(3, 9, 5)]
    change = change_at(pairs, 3, lonely_from=7, resamples=200, seed=1)
    assert (change.moved_out, change.moved_in, change.net_out) == (2, 1, 1)


def test_the_bootstrap_of_two_values_spans_both_and_is_repeatable() -> None:
    # Drawing two of (0, 1) with replacement gives a mean of 0 (1 in 4), 0.5 or 1 (1 in 4):
    # the 2.5 % and 97.5 % quantiles are 0 and 1.
    assert bootstrap([0, 1], "mean", resamples=4000, seed=7) == Interval(0.0, 1.0)
    # Sums of two draws: 0, 1 or 2.
    assert bootstrap([0, 1], "sum", resamples=4000, seed=7) == Interval(0.0, 2.0)
    # The same seed, the same interval; everyone alike, no spread at all.
    values = [-2, 0, -3, 0, -2, 1, -1]
    assert bootstrap(values, "mean", resamples=999, seed=3) == bootstrap(
        values, "mean", resamples=999, seed=3
    )
    assert bootstrap([-1, -1, -1], "mean", resamples=300, seed=1) == Interval(-1.0, -1.0)
    assert bootstrap([], "mean", resamples=300, seed=1) is None


def test_the_bootstrap_interval_is_about_two_standard_errors_either_side() -> None:
    # 50 zeros and 50 ones: mean 0.5, standard error 0.5 / 10 = 0.05, so a 95 % interval
    # of about 0.5 +/- 1.96 x 0.05 = 0.402 to 0.598 (a 90 % one would be 0.418 to 0.582).
    interval = bootstrap([0, 1] * 50, "mean", resamples=4000, seed=11)
    assert interval is not None
    assert 0.39 <= interval.low <= 0.41 and 0.59 <= interval.high <= 0.61


def test_the_bootstrap_interval_of_a_mean_narrows_with_more_people() -> None:
    few = bootstrap([-2, 0, -3, 0, -2], "mean", resamples=2000, seed=5)
    many = bootstrap([-2, 0, -3, 0, -2] * 20, "mean", resamples=2000, seed=5)
    assert few is not None and many is not None
    assert many.high - many.low < (few.high - few.low) / 3
    assert many.low < -1.4 < many.high


def test_friendships_kept_after_3_6_and_12_months() -> None:
    friendships = [
        Friendship(1, NOW - timedelta(days=200), NOW - timedelta(days=100)),  # ended at 100 days
        Friendship(2, NOW - timedelta(days=400), None),  # still going
        Friendship(3, NOW - timedelta(days=30), None),  # too young for any horizon
    ]
    three, six, twelve = (retention(friendships, h, NOW) for h in (3, 6, 12))
    assert (three.started, three.lasted) == (2, 2)  # 100 days > 3 months
    assert (six.started, six.lasted, six.ended) == (2, 1, 1)
    assert (twelve.started, twelve.lasted) == (1, 1)


def test_months_of_friendship_count_from_start_to_end_or_now() -> None:
    year = timedelta(days=365.25)
    friendships = [
        Friendship(1, NOW - 2 * year, NOW - year),  # one year, ended
        Friendship(2, NOW - MONTH * 3, None),  # three months so far
    ]
    assert friendship_months(friendships, NOW) == pytest.approx(15)


def test_waiting_times_are_medians_in_days() -> None:
    spans = [(START, day(3)), (START, day(10)), (START, day(4)), (day(5), START)]
    wait = waits(spans)
    # 3, 10, 4 and 0 (a wait cannot be negative): the median of 0, 3, 4, 10 is 3.5.
    assert (wait.people, wait.median_days) == (4, 3.5)
    assert waits([]).median_days is None


def test_visits_held_are_the_confirmed_ones_whose_time_came() -> None:
    series = [
        VisitSeries(NOW - timedelta(days=20), True, "confirmed", NOW - timedelta(days=25)),
        # Cancelled ten days ago: days -20 and -13 were held, -6 was not.
        VisitSeries(NOW - timedelta(days=20), True, "cancelled", NOW - timedelta(days=10)),
        VisitSeries(NOW - timedelta(days=2), False, "done", NOW),
        VisitSeries(NOW + timedelta(days=2), False, "confirmed", NOW),  # not yet
        VisitSeries(NOW - timedelta(days=2), False, "proposed", NOW),  # never confirmed
    ]
    assert len(list(visits(series, NOW))) == 3 + 2 + 1
