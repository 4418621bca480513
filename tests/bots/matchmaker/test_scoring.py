"""Scoring pairs: who may be matched at all, how well they fit, and why."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bots.matchmaker.scoring import (
    SHARED_SLOTS_COUNTED,
    SLOTS,
    InterestWeights,
    MatchPreferences,
    Profile,
    Reason,
    ReasonKind,
    Role,
    interest_weights,
    postcode_area,
    score,
)
from connec.interests import understand_interests

YEAR = 2025
EVEN = InterestWeights()  # every interest weighs 1


def person(person_id: int, role: Role = "citizen", **changes: Any) -> Profile:
    words = changes.pop("likes", "")
    return replace(
        Profile(person_id=person_id, role=role, interests=understand_interests(str(words))),
        **changes,
    )


def karen(**changes: Any) -> Profile:
    base: dict[str, object] = {
        "display_name": "Karen",
        "birth_year": 1947,
        "gender": "female",
        "postcode": "8000",
        "municipality": "Aarhus",
        "likes": "jazz, min kolonihave, Kim Larsen",
        "availability": frozenset({"tue-am", "thu-pm"}),
    }
    return person(1, "citizen", **{**base, **changes})


def anna(**changes: Any) -> Profile:
    base: dict[str, object] = {
        "display_name": "Anna",
        "birth_year": 1990,
        "gender": "female",
        "postcode": "8210",
        "municipality": "Aarhus",
        "likes": "Jazz, havearbejde, kim larsen, strikning",
        "availability": frozenset({"tue-am", "sat-pm"}),
    }
    return person(2, "volunteer", **{**base, **changes})


# ---------------------------------------------------------------- what they share


def test_karen_and_anna_both_like_jazz_and_have_tuesday_mornings() -> None:
    result = score(karen(), anna(), weights=EVEN, today_year=YEAR)
    assert result is not None
    assert result.reason("shared_interests") == Reason("shared_interests", ("gardening", "jazz"))
    assert result.reason("shared_time") == Reason("shared_time", ("tue-am",))
    assert result.reason("shared_language") == Reason("shared_language", ("da",))
    assert result.reason("shared_mode") == Reason("shared_mode", ("chat", "voice", "video"))
    assert result.reason(ReasonKind.SAME_MUNICIPALITY) == Reason("same_municipality", ("Aarhus",))


def test_their_own_words_count_too_and_are_quoted_from_the_first_person() -> None:
    result = score(karen(), anna(), weights=EVEN, today_year=YEAR)
    assert result is not None
    assert result.reason("shared_personal_interests") == Reason(
        "shared_personal_interests", ("Kim Larsen",)
    )
    without = score(karen(likes="jazz, min kolonihave"), anna(), weights=EVEN, today_year=YEAR)
    assert without is not None and without.value < result.value


def test_the_score_is_the_same_both_ways_round() -> None:
    weights = interest_weights([karen(), anna()])
    there = score(karen(), anna(), weights=weights, today_year=YEAR)
    back = score(anna(), karen(), weights=weights, today_year=YEAR)
    assert there is not None and back is not None
    assert there.value == pytest.approx(back.value)


def test_with_even_weights_the_value_adds_up_as_documented() -> None:
    result = score(karen(), anna(), weights=EVEN, today_year=YEAR)
    # jazz + gardening + Kim Larsen, one shared slot, same municipality.
    assert result is not None and result.value == pytest.approx(3 + 1 + 0.5)


def test_more_shared_time_helps_but_only_up_to_a_point() -> None:
    def with_slots(count: int) -> float:
        slots = frozenset(SLOTS[:count])
        result = score(
            karen(availability=slots), anna(availability=slots), weights=EVEN, today_year=YEAR
        )
        assert result is not None
        return result.value

    assert with_slots(0) < with_slots(1) < with_slots(2) < with_slots(SHARED_SLOTS_COUNTED)
    assert with_slots(SHARED_SLOTS_COUNTED) == with_slots(len(SLOTS))


def test_shared_times_are_listed_in_week_order() -> None:
    slots = frozenset({"sun-eve", "mon-am", "wed-pm"})
    result = score(
        karen(availability=slots), anna(availability=slots), weights=EVEN, today_year=YEAR
    )
    assert result is not None
    assert result.reason("shared_time") == Reason("shared_time", ("mon-am", "wed-pm", "sun-eve"))


def test_related_interests_count_a_little_when_nothing_is_shared_exactly() -> None:
    jazz = person(1, likes="jazz")
    classical = person(2, "volunteer", likes="klassisk musik")
    result = score(jazz, classical, weights=EVEN, today_year=YEAR)
    assert result is not None
    assert result.reason("related_interests") == Reason("related_interests", ("musik",))
    assert 0 < result.value < 1


def test_a_pair_with_nothing_in_common_scores_nothing_but_is_allowed() -> None:
    result = score(
        person(1, likes="jazz"), person(2, likes="fodbold"), weights=EVEN, today_year=YEAR
    )
    assert result is not None and result.value == 0


def test_sharing_a_language_besides_danish_is_a_reason() -> None:
    both = frozenset({"da", "ar"})
    result = score(
        person(1, languages=both), person(2, languages=both), weights=EVEN, today_year=YEAR
    )
    assert result is not None and result.value > 0
    assert result.reason("shared_language") == Reason("shared_language", ("da", "ar"))


# ---------------------------------------------------------------- rarer weighs more


def test_rarer_shared_interests_weigh_more() -> None:
    # Everyone likes music; only two people keep bees.
    crowd = [person(10 + i, likes="musik") for i in range(20)]
    beekeepers = [person(1, likes="musik, biavl"), person(2, "volunteer", likes="musik, biavl")]
    music_lovers = [person(3, likes="musik"), person(4, "volunteer", likes="musik")]
    weights = interest_weights([*crowd, *beekeepers, *music_lovers])

    assert weights.interest("beekeeping") > weights.interest("music") > 0
    bees = score(*beekeepers, weights=weights, today_year=YEAR)
    music = score(*music_lovers, weights=weights, today_year=YEAR)
    assert bees is not None and music is not None
    assert bees.value > music.value
    assert bees.reason("shared_interests") == Reason("shared_interests", ("beekeeping", "music"))


def test_rare_own_words_weigh_more_than_common_ones() -> None:
    crowd = [person(10 + i, likes="Kim Larsen") for i in range(10)]
    morris = [person(1, likes="Morris Minor"), person(2, likes="morris minor")]
    larsen = [person(3, likes="Kim Larsen"), person(4, likes="Kim Larsen")]
    weights = interest_weights([*crowd, *morris, *larsen])
    by_morris = score(*morris, weights=weights, today_year=YEAR)
    by_larsen = score(*larsen, weights=weights, today_year=YEAR)
    assert by_morris is not None and by_larsen is not None
    assert by_morris.value > by_larsen.value > 0


def test_an_interest_nobody_has_yet_counts_as_rarest() -> None:
    weights = interest_weights([person(1, likes="jazz"), person(2, likes="jazz")])
    assert weights.interest("beekeeping") > weights.interest("jazz")
    assert InterestWeights().interest("jazz") == 1


# ---------------------------------------------------------------- hard rules


def test_no_shared_language_rules_a_pair_out() -> None:
    assert (
        score(
            karen(languages=frozenset({"da"})),
            anna(languages=frozenset({"en", "de"})),
            weights=EVEN,
            today_year=YEAR,
        )
        is None
    )


def test_no_contact_mode_in_common_rules_a_pair_out() -> None:
    assert (
        score(
            karen(contact_modes=frozenset({"voice"})),
            anna(contact_modes=frozenset({"chat", "video"})),
            weights=EVEN,
            today_year=YEAR,
        )
        is None
    )


def test_karen_who_wants_a_woman_is_not_matched_with_a_man() -> None:
    wants_woman = MatchPreferences(partner_gender="female")
    assert (
        score(karen(prefs=wants_woman), anna(gender="male"), weights=EVEN, today_year=YEAR) is None
    )
    assert score(karen(prefs=wants_woman), anna(gender=None), weights=EVEN, today_year=YEAR) is None
    assert score(karen(prefs=wants_woman), anna(), weights=EVEN, today_year=YEAR) is not None


def test_the_volunteers_wishes_are_hard_too() -> None:
    wants_man = MatchPreferences(partner_gender="Male")
    assert score(karen(), anna(prefs=wants_man), weights=EVEN, today_year=YEAR) is None
    assert score(karen(gender="male"), anna(prefs=wants_man), weights=EVEN, today_year=YEAR)


@pytest.mark.parametrize(
    ("age_min", "age_max", "allowed"),
    [
        (None, None, True),
        (30, 40, True),  # Anna turns 35 this year
        (35, 35, True),
        (36, None, False),
        (None, 34, False),
    ],
)
def test_age_ranges_are_hard(age_min: int | None, age_max: int | None, allowed: bool) -> None:
    prefs = MatchPreferences(age_min=age_min, age_max=age_max)
    result = score(karen(prefs=prefs), anna(), weights=EVEN, today_year=YEAR)
    assert (result is not None) is allowed


def test_an_unknown_age_cannot_meet_an_age_range() -> None:
    prefs = MatchPreferences(age_min=18)
    assert score(karen(prefs=prefs), anna(birth_year=None), weights=EVEN, today_year=YEAR) is None


def test_near_me_means_the_same_part_of_denmark() -> None:
    near = MatchPreferences(near_me=True)
    # Aarhus C and Viby J are both in East Jutland.
    assert score(karen(prefs=near), anna(postcode="8260"), weights=EVEN, today_year=YEAR)
    # Copenhagen is not near Aarhus.
    assert score(karen(prefs=near), anna(postcode="2100"), weights=EVEN, today_year=YEAR) is None
    # A volunteer abroad (or with no postcode) cannot be near.
    assert score(karen(prefs=near), anna(postcode=None), weights=EVEN, today_year=YEAR) is None
    # Without near_me, anywhere is fine, even abroad.
    assert score(karen(), anna(postcode="SW1A 1AA"), weights=EVEN, today_year=YEAR)


def test_near_me_on_either_side_counts() -> None:
    near = MatchPreferences(near_me=True)
    assert score(karen(), anna(prefs=near, postcode="9000"), weights=EVEN, today_year=YEAR) is None


def test_nobody_is_matched_with_themselves() -> None:
    assert score(karen(), karen(), weights=EVEN, today_year=YEAR) is None


@pytest.mark.parametrize(
    ("postcode", "area"),
    [
        ("1050", "københavn"),
        ("2100", "københavn"),
        ("3400", "nordsjælland"),
        ("3700", "bornholm"),
        ("DK-8000", "østjylland"),
        ("9000", "nordjylland"),
        ("3900", None),  # Greenland
        ("100", None),  # Faroe Islands
        ("abcd", None),
        (None, None),
    ],
)
def test_postcode_areas(postcode: str | None, area: str | None) -> None:
    assert postcode_area(postcode) == area
