"""One profile model, three doors: the same value gets the same judgement at each door.

The model's own rules are tested on their own first; then each bad (and good) value is
sent through a row of a CSV file, a portal form and an answer in the chat intake, and
every door must agree.
"""

from __future__ import annotations

from typing import Any

import pytest

from bots.matchmaker import intake_steps as steps
from connec.people_csv import COLUMNS, parse_file
from connec.profile import ABOUT_MAX, NAME_MAX, Profile, ProfileProblem, check
from portal.forms import check_citizen
from tests.portal.helpers import citizen_form

YEAR = 2026


def codes(values: dict[str, Any]) -> list[tuple[str, str]]:
    profile, problems = check(values, this_year=YEAR)
    assert (profile is None) == bool(problems)
    return [(problem.field, problem.code) for problem in problems]


def test_a_good_profile_is_tidied_not_changed() -> None:
    profile, problems = check(
        {
            "role": "volunteer",
            "display_name": "  Karen   Hansen ",
            "birth_year": 1948,
            "postcode": "82 00",
            "languages": ["da", "en", "da"],
            "interest_keys": ["jazz", "gardening"],
            "interest_words": [" Kim Larsen ", "Kim Larsen"],
            "contact_modes": ["video", "chat"],
            "availability": ["thu-pm", "mon-am"],
            "capacity": 3,
        },
        this_year=YEAR,
    )
    assert problems == [] and profile is not None
    assert profile.display_name == "Karen Hansen" and profile.postcode == "8200"
    assert profile.languages == ["da", "en"]
    assert profile.interest_keys == ["jazz", "gardening"]  # the person's order
    assert profile.interest_words == ["Kim Larsen"]
    assert profile.contact_modes == ["chat", "video"]  # week and list order
    assert profile.availability == ["mon-am", "thu-pm"]
    # Only what the door gave is reported as set.
    assert set(profile.fields()) >= {"display_name", "capacity"}
    assert "about" not in profile.fields()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"display_name": "1234"}, [("display_name", "name_empty")]),
        ({"display_name": "x" * (NAME_MAX + 1)}, [("display_name", "too_long")]),
        ({"birth_year": YEAR - 17}, [("birth_year", "too_young")]),
        ({"birth_year": YEAR - 18}, []),
        ({"birth_year": YEAR - 111}, [("birth_year", "year")]),
        ({"birth_year": YEAR + 1}, [("birth_year", "year")]),
        ({"gender": "x"}, [("gender", "choice")]),
        ({"postcode": "80000"}, [("postcode", "postcode")]),
        ({"languages": ["da", "xx"]}, [("languages", "language")]),
        ({"interest_keys": ["jazz", "unknown"]}, [("interest_keys", "choice")]),
        ({"interest_words": ["x" * 501]}, [("interest_words", "too_long")]),
        ({"about": "x" * (ABOUT_MAX + 1)}, [("about", "too_long")]),
        ({"contact_modes": ["fax"]}, [("contact_modes", "choice")]),
        ({"availability": ["tuesday"]}, [("availability", "choice")]),
        ({"capacity": 4}, [("capacity", "capacity")]),
        ({"role": "citizen", "capacity": 2}, [("capacity", "capacity_role")]),
        ({"role": "volunteer", "capacity": 2}, []),
        ({"age_min": 17}, [("age_min", "age_bounds")]),
        ({"age_min": 70, "age_max": 60}, [("age_max", "age_order")]),
        ({"role": "teacher"}, [("role", "choice")]),
        ({"timezone": "Europe/Berlin"}, []),
        ({"timezone": "Mars/Olympus"}, [("timezone", "timezone")]),
        (
            {"birth_year": YEAR - 5, "postcode": "x"},
            [("birth_year", "too_young"), ("postcode", "postcode")],
        ),
    ],
)
def test_each_rule_of_the_profile(values: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert codes(values) == expected


def test_every_field_documents_itself() -> None:
    for name, field in Profile.model_fields.items():
        assert field.description, name


def test_a_problem_carries_what_its_words_need() -> None:
    _, problems = check({"birth_year": YEAR - 10}, this_year=YEAR)
    assert problems == [ProfileProblem("birth_year", "too_young", {"min_age": 18})]


# The three doors agree ---------------------------------------------------------------------------


def through_csv(**cells: str) -> bool:
    """Whether a citizen's row with ``cells`` is loaded."""
    row = {"role": "citizen", "matrix_id": "@karen:connec.test", "display_name": "Karen"} | cells
    text = ",".join(COLUMNS) + "\n" + ",".join(row.get(column, "") for column in COLUMNS)
    parsed = parse_file(text, own_server="connec.test", allowed_servers=(), this_year=YEAR)
    return bool(parsed.rows)


def through_form(**fields: str) -> bool:
    """Whether a frontline worker's enrolment form with ``fields`` is taken."""
    form = {k: list(v) if isinstance(v, list) else [v] for k, v in citizen_form(**fields).items()}
    return check_citizen(form, this_year=YEAR).ok


def through_chat(step: str, text: str) -> bool:
    """Whether the intake takes ``text`` as the answer to ``step``."""
    state, _ = steps.start_intake("citizen", {"display_name": "Karen"}, "da")
    state.step, state.queue = step, ["contact_modes"]
    outcome = steps.answer(state, text, lang="da", today_year=YEAR)
    return outcome.state.step != step


@pytest.mark.parametrize(
    ("what", "csv", "form", "chat", "taken"),
    [
        ("too young", {"birth_year": "2015"}, {"birth_year": "2015"}, ("birth_year", "2015"), 0),
        ("18 this year", {"birth_year": "2008"}, {"birth_year": "2008"}, ("birth_year", "2008"), 1),
        ("111 years", {"birth_year": "1915"}, {"birth_year": "1915"}, ("birth_year", "1915"), 0),
        (
            "five-digit postcode",
            {"postcode": "80000"},
            {"postcode": "80000"},
            ("place", "80000"),
            0,
        ),
        ("postcode", {"postcode": "8000"}, {"postcode": "8000"}, ("place", "8000"), 1),
        (
            "long name",
            {"display_name": "Karen " + "x" * NAME_MAX},
            {"name": "Karen " + "x" * NAME_MAX},
            ("name", "Karen " + "x" * NAME_MAX),
            0,
        ),
        (
            "name of 100 letters",
            {"display_name": "Karen " + "x" * 94},
            {"name": "Karen " + "x" * 94},
            ("name", "Karen " + "x" * 94),
            1,
        ),
        ("no letters", {"display_name": "12345"}, {"name": "12345"}, ("name", "12345"), 0),
        ("Arabic", {"languages": "ar"}, {"languages": ["ar"]}, ("languages", "ar"), 1),
    ],
)
def test_the_same_value_gets_the_same_judgement_at_every_door(
    what: str, csv: dict[str, str], form: dict[str, Any], chat: tuple[str, str], taken: int
) -> None:
    judged = {"csv": through_csv(**csv), "form": through_form(**form), "chat": through_chat(*chat)}
    assert judged == dict.fromkeys(judged, bool(taken)), what


def test_a_long_text_about_oneself_is_judged_alike_in_the_form_and_in_chat() -> None:
    for length, taken in ((ABOUT_MAX, True), (ABOUT_MAX + 1, False)):
        text = "x" * length
        assert through_form(about=text) is taken
        assert through_chat("about", text) is taken
