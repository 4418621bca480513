"""The volunteer sign-up in four short steps, each a page of the same form.

Each step shows its own fields; the answers of the other steps ride along in hidden
fields, so nothing is kept on the server between steps and nothing is lost going back
and forth or after a mistake. "Next" checks only the step's own fields; "Send" checks
everything (:func:`portal.forms.check_volunteer`, unchanged) and, if something is
wrong, shows the first step that has a mistake. Plain functions over the posted
values: the view in :mod:`portal.volunteers` does the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from portal.i18n import N_


@dataclass(frozen=True)
class Step:
    """One page of the sign-up: its title, its fields, and the errors that belong to it."""

    key: str
    title: str
    fields: tuple[str, ...]
    """Posted field names shown on this step (and the error keys that belong to it)."""


STEPS: tuple[Step, ...] = (
    Step(
        "about",
        N_("About you"),
        (
            "name",
            "email",
            "phone",
            "birth_date",
            "birth_day",
            "birth_month",
            "birth_year",
            "municipality",
            "postcode",
            "gender",
            "languages",
        ),
    ),
    Step("interests", N_("What you like to talk about"), ("interests", "interest_words")),
    Step("when", N_("How and when"), ("contact_modes", "availability", "capacity")),
    Step(
        "why",
        N_("Why you want to join"),
        ("motivation", "organisation", "matrix_id", "consent"),
    ),
)
LAST = len(STEPS) - 1
NOT_ANSWERS = frozenset({"csrf_token", "step", "go"})
"""Posted fields that steer the form rather than answer it."""


def posted_step(data: Mapping[str, Sequence[str]]) -> int | None:
    """The step a post came from (0-based); None for a post of the whole form at once."""
    values = data.get("step") or ()
    try:
        index = int(values[0]) - 1 if values else None
    except ValueError:
        return None
    return index if index is not None and 0 <= index <= LAST else None


def errors_of(step: int, errors: Mapping[str, str]) -> dict[str, str]:
    """The errors that belong to one step, in the order they were found."""
    own = STEPS[step].fields
    return {name: message for name, message in errors.items() if name in own}


def first_step_with(errors: Mapping[str, str]) -> int:
    """The first step that has one of ``errors``; the last step if none does."""
    for index in range(len(STEPS)):
        if errors_of(index, errors):
            return index
    return LAST


def not_carried(step: int) -> frozenset[str]:
    """Posted names a step must not carry in hidden fields: its own, and the steering."""
    return NOT_ANSWERS | frozenset(STEPS[step].fields)
