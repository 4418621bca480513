"""The portal's form checks, as plain functions: posted values in, values or errors out."""

from __future__ import annotations

from datetime import date

import pytest

from portal.forms import (
    age_on,
    birth_date,
    check_citizen,
    check_matrix_id,
    check_reason,
    check_sign_in,
    check_volunteer,
)
from tests.portal.helpers import citizen_form, volunteer_form

TODAY = date(2026, 6, 15)


def posted(values: dict) -> dict[str, list[str]]:
    return {k: list(v) if isinstance(v, list) else [v] for k, v in values.items()}


def volunteer(**changes):
    return check_volunteer(
        posted(volunteer_form(**changes)),
        today=TODAY,
        server_name="connec.test",
        federation_allowlist=["frivillig.example"],
    )


def test_a_complete_volunteer_sign_up_passes() -> None:
    checked = volunteer()
    assert checked.ok and checked.value is not None
    assert checked.value.birth_year == 1990 and checked.value.capacity == 2
    assert checked.value.interest_words == ["Kim Larsen", "min kolonihave"]
    assert checked.value.availability == ["tue-am", "thu-pm"]


@pytest.mark.parametrize(
    ("day", "month", "year", "ok"),
    [
        ("15", "6", "2008", True),  # 18 today
        ("16", "6", "2008", False),  # 18 tomorrow
        ("1", "1", "2009", False),
        ("15", "6", "1916", True),  # 110 is the oldest
        ("14", "6", "1915", False),
    ],
)
def test_volunteers_must_be_18_on_the_day(day: str, month: str, year: str, ok: bool) -> None:
    checked = volunteer(birth_day=day, birth_month=month, birth_year=year)
    assert checked.ok is ok
    if not ok:
        assert set(checked.errors) == {"birth_date"}


def test_under_18_gets_the_clear_message() -> None:
    checked = volunteer(birth_day="1", birth_month="1", birth_year="2010")
    assert checked.errors["birth_date"].startswith("You must be 18 or older")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"birth_day": "24-12-1980"}, date(1980, 12, 24)),
        ({"birth_day": "24.12.1980"}, date(1980, 12, 24)),
        ({"birth_day": "24", "birth_month": "12", "birth_year": "1980"}, date(1980, 12, 24)),
        ({}, "Write your date of birth."),
        ({"birth_day": "31", "birth_month": "2", "birth_year": "1980"}, "That date"),
        ({"birth_day": "x", "birth_month": "2", "birth_year": "80"}, "Write your date of birth as"),
    ],
)
def test_dates_of_birth_are_read_as_people_write_them(values: dict, expected) -> None:
    result = birth_date(posted(values))
    if isinstance(expected, date):
        assert result == expected
    else:
        assert isinstance(result, str) and result.startswith(expected)


def test_age_counts_whole_years() -> None:
    assert age_on(date(2000, 6, 16), TODAY) == 25
    assert age_on(date(2000, 6, 15), TODAY) == 26


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("@anna:frivillig.example", None),
        ("@Anna:frivillig.example", "looks like"),
        ("anna@frivillig.example", "looks like"),
        ("@anna:connec.test", "Leave this empty"),
        ("@anna:elsewhere.example", "only use Matrix accounts"),
    ],
)
def test_an_own_matrix_id_must_be_well_formed_and_trusted(value: str, problem: str | None) -> None:
    result = check_matrix_id(value, server_name="connec.test", allowlist=["frivillig.example"])
    assert (result is None) if problem is None else (problem in result)


def test_every_missing_volunteer_answer_is_named() -> None:
    checked = check_volunteer({}, today=TODAY, server_name="connec.test", federation_allowlist=[])
    assert set(checked.errors) == {
        "name",
        "email",
        "birth_date",
        "municipality",
        "languages",
        "interests",
        "contact_modes",
        "availability",
        "motivation",
        "consent",
    }
    assert checked.value is None


def test_own_words_alone_are_enough_interests_and_tampered_keys_are_not() -> None:
    assert volunteer(interests=None, interest_words="kolonihave").ok
    assert "interests" in volunteer(interests=["nonsense"]).errors
    assert "availability" in volunteer(availability=["mon-night"]).errors


def test_volunteers_abroad_have_no_municipality() -> None:
    checked = volunteer(municipality="abroad", postcode="")
    assert checked.ok and checked.value.municipality is None
    assert "municipality" in volunteer(municipality="Atlantis").errors


def test_the_form_values_come_back_but_never_the_token() -> None:
    checked = check_volunteer(
        {"name": ["Anna"], "csrf_token": ["secret"], "languages": ["da"]},
        today=TODAY,
        server_name="connec.test",
        federation_allowlist=[],
    )
    assert checked.form["name"] == "Anna" and checked.form["languages"] == ["da"]
    assert "csrf_token" not in checked.form and checked.form["availability"] == []


def citizen(**changes):
    return check_citizen(posted(citizen_form(**changes)), this_year=2026)


def test_a_complete_citizen_enrolment_passes() -> None:
    checked = citizen(peer="yes", distance="near", age_min="65", age_max="80")
    assert checked.ok and checked.value is not None
    assert checked.value.peer and checked.value.near_me
    assert (checked.value.age_min, checked.value.age_max) == (65, 80)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"birth_year": "46"}, "birth_year"),
        ({"birth_year": "2010"}, "birth_year"),
        ({"birth_year": ""}, "birth_year"),
        ({"age_min": "12"}, "age_min"),
        ({"age_min": "80", "age_max": "70"}, "age_max"),
        ({"distance": "near", "postcode": ""}, "postcode"),
        ({"postcode": "DK-80"}, "postcode"),
        ({"language": "sv"}, "language"),
        ({"gender": "unknown"}, "gender"),
        ({"consent": None}, "consent"),
        ({"about": "x" * 2001}, "about"),
    ],
)
def test_citizen_answers_that_cannot_be_used_are_named(changes: dict, field: str) -> None:
    assert field in citizen(**changes).errors


def test_sign_in_takes_a_user_name_or_a_whole_matrix_id() -> None:
    short = check_sign_in(
        posted({"user": "Karen.Hansen", "password": "pw"}), server_name="connec.test"
    )
    assert short.value is not None and short.value.user_id == "@karen.hansen:connec.test"
    whole = check_sign_in(
        posted({"user": "@karen:other.example", "password": "pw"}), server_name="connec.test"
    )
    assert whole.value is not None and whole.value.user_id == "@karen:other.example"
    empty = check_sign_in({}, server_name="connec.test")
    assert set(empty.errors) == {"user", "password"} and "password" not in empty.form


def test_a_turn_down_needs_a_short_reason() -> None:
    assert check_reason(posted({"reason": "  "})).errors
    assert check_reason(posted({"reason": "x" * 1001})).errors
    assert check_reason(posted({"reason": "Ingen attest."})).value == "Ingen attest."
