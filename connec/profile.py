"""A person's profile: one typed model that every door fills in.

Three doors let a profile in: a row of a CSV file (``connec people import``), a form
on the portal (a volunteer's sign-up, a citizen's enrolment) and the chat intake.
Each door understands its own input (a cell ``da;en``, ticked boxes, "dansk og
lidt engelsk") and turns it into a :class:`Profile`; the model judges the values, so
the same value gets the same judgement at every door. A door turns the model's
:class:`ProfileProblem` s into the words it speaks: a line of the file, a message
beside a field, a kind reply in chat. A new field, or a new rule, is added here once.

What is required is not judged here: a form asks until it has an answer, a chat
asks again, and a file can only report what it lacks, so each door says what it
needs. Only a value that is there is judged.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from babel import Locale
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from connec.interests import taxonomy
from connec.people import (
    CONTACT_MODES,
    GENDERS,
    MATCHABLE_ROLES,
    MAX_CAPACITY,
    MIN_CAPACITY,
    SLOTS,
    VOLUNTEER_MIN_AGE,
)

OLDEST = 110
"""Nobody connec meets is older; a birth year further back is a typing mistake."""
NAME_MAX = 128
PLACE_MAX = 64
ABOUT_MAX = 2000
WORDS_MAX = 500
"""A person's own words for their interests, all together."""

PERSON_FIELDS = (
    "display_name",
    "birth_year",
    "gender",
    "municipality",
    "postcode",
    "languages",
    "interest_keys",
    "interest_words",
    "contact_modes",
    "availability",
)
"""The fields every door asks for, as the doors' own records name them too."""

_POSTCODE = re.compile(r"[0-9]{4}")
"""A Danish postcode; matching "near me" compares postcodes."""
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class ProfileProblem:
    """What is wrong with one field: a code every door knows, and the values its words need.

    Codes: ``name_empty``, ``too_long`` (``most``), ``too_young`` (``min_age``),
    ``year`` (``oldest``), ``choice`` (``value``), ``language`` (``value``),
    ``postcode``, ``capacity`` (``low``, ``high``), ``capacity_role``, ``age_bounds``
    (``low``, ``high``), ``age_order``, ``timezone`` (``value``).
    """

    field: str
    code: str
    values: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def _problem(code: str, **values: Any) -> PydanticCustomError:
    return PydanticCustomError(code, code, values)


@cache
def language_codes() -> frozenset[str]:
    """Every ISO 639-1 language code connec accepts ("da", "ar"), as Babel knows them."""
    codes = (str(code) for code in Locale("en").languages)
    return frozenset(code for code in codes if re.fullmatch(r"[a-z]{2}", code))


def _choose(values: list[str], allowed: tuple[str, ...] | frozenset[str]) -> list[str]:
    """``values`` without repeats; each must be one of ``allowed``."""
    for value in values:
        if value not in allowed:
            raise _problem("choice", value=value)
    return list(dict.fromkeys(values))


class Profile(BaseModel):
    """What connec knows of a person to pair them: every field optional, every value judged.

    Validate with :func:`check`, which passes the year the judgement is made in.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str | None = Field(
        None, description="Who the person is to connec: " + ", ".join(MATCHABLE_ROLES)
    )
    display_name: str | None = Field(
        None, description=f"The name others see: a letter at least, at most {NAME_MAX} characters"
    )
    birth_year: int | None = Field(
        None, description=f"{VOLUNTEER_MIN_AGE} years old or more this year, at most {OLDEST}"
    )
    gender: str | None = Field(None, description="One of " + ", ".join(GENDERS))
    municipality: str | None = Field(
        None, description=f"Where the person lives, at most {PLACE_MAX} characters"
    )
    postcode: str | None = Field(None, description="A Danish postcode: four digits")
    languages: list[str] = Field(default_factory=list, description="ISO 639-1 codes")
    interest_keys: list[str] = Field(
        default_factory=list, description="Keys of the taxonomy, in the order given"
    )
    interest_words: list[str] = Field(
        default_factory=list,
        description=f"Interests in the person's own words, at most {WORDS_MAX} characters in all",
    )
    about: str | None = Field(
        None, description=f"A few words about oneself, at most {ABOUT_MAX} characters"
    )
    contact_modes: list[str] = Field(default_factory=list, description=", ".join(CONTACT_MODES))
    availability: list[str] = Field(
        default_factory=list, description="Weekly slots mon-am … sun-eve, kept in week order"
    )
    capacity: int | None = Field(
        None,
        description=f"Friendships at once, {MIN_CAPACITY}–{MAX_CAPACITY}; more than "
        f"{MIN_CAPACITY} only for volunteers",
    )
    partner_gender: str | None = Field(None, description="A wish: one of " + ", ".join(GENDERS))
    age_min: int | None = Field(
        None, description=f"A wish: the youngest friend, {VOLUNTEER_MIN_AGE}–{OLDEST}"
    )
    age_max: int | None = Field(
        None, description=f"A wish: the oldest friend, {VOLUNTEER_MIN_AGE}–{OLDEST}"
    )
    near_me: bool | None = Field(None, description="A wish: a friend living near")
    timezone: str | None = Field(
        None, description="The IANA time zone the person reads times in (Europe/Copenhagen)"
    )

    @field_validator("role")
    @classmethod
    def _role(cls, value: str | None) -> str | None:
        return _choose([value], MATCHABLE_ROLES)[0] if value is not None else None

    @field_validator("display_name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = " ".join(value.split())
        if not _LETTER.search(value):
            raise _problem("name_empty")
        if len(value) > NAME_MAX:
            raise _problem("too_long", most=NAME_MAX)
        return value

    @field_validator("birth_year")
    @classmethod
    def _birth_year(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None:
            return None
        this_year = (info.context or {}).get("this_year") or date.today().year
        if this_year - VOLUNTEER_MIN_AGE < value <= this_year:
            raise _problem("too_young", min_age=VOLUNTEER_MIN_AGE)
        if not this_year - OLDEST <= value <= this_year:
            raise _problem("year", oldest=OLDEST)
        return value

    @field_validator("gender", "partner_gender")
    @classmethod
    def _gender(cls, value: str | None) -> str | None:
        return _choose([value], GENDERS)[0] if value else None

    @field_validator("municipality")
    @classmethod
    def _municipality(cls, value: str | None) -> str | None:
        value = " ".join(value.split()) if value else None
        if value and len(value) > PLACE_MAX:
            raise _problem("too_long", most=PLACE_MAX)
        return value or None

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, value: str | None) -> str | None:
        value = value.replace(" ", "") if value else None
        if value and not _POSTCODE.fullmatch(value):
            raise _problem("postcode")
        return value or None

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        for code in value:
            if code not in language_codes():
                raise _problem("language", value=code)
        return list(dict.fromkeys(value))

    @field_validator("interest_keys")
    @classmethod
    def _interest_keys(cls, value: list[str]) -> list[str]:
        return _choose(value, frozenset(taxonomy().interests))

    @field_validator("interest_words")
    @classmethod
    def _interest_words(cls, value: list[str]) -> list[str]:
        words = list(dict.fromkeys(word.strip() for word in value if word.strip()))
        if sum(len(word) for word in words) > WORDS_MAX:
            raise _problem("too_long", most=WORDS_MAX)
        return words

    @field_validator("about")
    @classmethod
    def _about(cls, value: str | None) -> str | None:
        value = value.strip() if value is not None else None
        if value and len(value) > ABOUT_MAX:
            raise _problem("too_long", most=ABOUT_MAX)
        return value

    @field_validator("contact_modes")
    @classmethod
    def _contact_modes(cls, value: list[str]) -> list[str]:
        chosen = set(_choose(value, CONTACT_MODES))
        return [mode for mode in CONTACT_MODES if mode in chosen]

    @field_validator("availability")
    @classmethod
    def _availability(cls, value: list[str]) -> list[str]:
        chosen = set(_choose(value, SLOTS))
        return [slot for slot in SLOTS if slot in chosen]

    @field_validator("capacity")
    @classmethod
    def _capacity(cls, value: int | None) -> int | None:
        if value is not None and not MIN_CAPACITY <= value <= MAX_CAPACITY:
            raise _problem("capacity", low=MIN_CAPACITY, high=MAX_CAPACITY)
        return value

    @field_validator("age_min", "age_max")
    @classmethod
    def _age(cls, value: int | None) -> int | None:
        if value is not None and not VOLUNTEER_MIN_AGE <= value <= OLDEST:
            raise _problem("age_bounds", low=VOLUNTEER_MIN_AGE, high=OLDEST)
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        if value is not None and value not in available_timezones():
            raise _problem("timezone", value=value)
        return value

    @model_validator(mode="after")
    def _together(self) -> Profile:
        if self.capacity not in (None, MIN_CAPACITY) and self.role not in (None, "volunteer"):
            raise _problem("capacity_role")
        if self.age_min is not None and self.age_max is not None and self.age_min > self.age_max:
            raise _problem("age_order")
        return self

    def fields(self) -> dict[str, Any]:
        """The fields a door set, by name (the rest were not given)."""
        return self.model_dump(include=self.model_fields_set)


_TOGETHER = {"capacity_role": "capacity", "age_order": "age_max"}
"""The field a problem between fields is shown at."""


def check(
    values: Mapping[str, Any], *, this_year: int
) -> tuple[Profile | None, list[ProfileProblem]]:
    """A profile from the values a door understood, or every problem with them (pure).

    ``this_year`` is the year ages are judged in.
    """
    try:
        return Profile.model_validate(dict(values), context={"this_year": this_year}), []
    except ValidationError as error:
        problems = []
        for found in error.errors(include_url=False, include_input=False):
            code = found["type"]
            where = str(found["loc"][0]) if found["loc"] else _TOGETHER.get(code, "")
            problems.append(ProfileProblem(where, code, dict(found.get("ctx") or {})))
        return None, problems
