"""The portal's forms, checked by plain functions: posted values in, clean values or errors out.

No network, no database, no clock: the views pass in today's date and the settings
that matter. Every error is an English msgid, translated where it is shown, next to
its field. The values a person typed always come back (``Checked.form``), so a form
with a mistake, or one that could not be saved, is shown again as it was.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar

from connec.municipalities import MUNICIPALITIES
from connec.people import MIN_CAPACITY, VOLUNTEER_MIN_AGE
from connec.profile import OLDEST, PERSON_FIELDS, Profile, check
from portal.i18n import N_

T = TypeVar("T")
FormData = Mapping[str, Sequence[str]]
"""Posted values by field name; every field may carry several values (check boxes)."""

LANGUAGE_CHOICES = ("da", "en", "de", "sv", "nb", "pl", "uk", "ar", "tr", "fr", "es")
"""Languages people may say they speak, as ISO 639-1 codes (named by Babel on the page)."""

ABROAD = "abroad"
"""The municipality choice of a volunteer who lives outside Denmark."""

NAME_MAX, EMAIL_MAX, TEXT_MAX, REASON_MAX = 128, 255, 2000, 1000
USER_ID_MAX = 255
"""Matrix user IDs are at most 255 bytes; a longer name is never counted as a try."""

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_PHONE = re.compile(r"^[0-9 +()\-]+$")
_MATRIX_ID = re.compile(r"^@([a-z0-9._=\-/+]+):([A-Za-z0-9.\-]+(?::[0-9]{1,5})?)$")
_WORD_SEPARATORS = re.compile(r"[,;\n\r]+")
_DATE_PARTS = re.compile(r"^\s*(\d{1,2})\s*[-./ ]\s*(\d{1,2})\s*[-./ ]\s*(\d{4})\s*$")


@dataclass
class Checked(Generic[T]):
    """The outcome of checking a form: a value when all is well, else errors by field."""

    form: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    value: T | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and self.value is not None


@dataclass(frozen=True)
class VolunteerSignUp:
    """A volunteer's sign-up, ready to store as a pending volunteer."""

    display_name: str
    email: str
    phone: str | None
    birth_year: int
    gender: str | None
    municipality: str | None
    postcode: str | None
    languages: list[str]
    interest_keys: list[str]
    interest_words: list[str]
    contact_modes: list[str]
    availability: list[str]
    capacity: int
    motivation: str
    organisation: str | None
    matrix_id: str | None


@dataclass(frozen=True)
class CitizenEnrolment:
    """A citizen's profile as a frontline worker records it with them."""

    display_name: str
    birth_year: int
    gender: str | None
    postcode: str | None
    language: str
    languages: list[str]
    interest_keys: list[str]
    interest_words: list[str]
    about: str
    contact_modes: list[str]
    availability: list[str]
    partner_gender: str | None
    age_min: int | None
    age_max: int | None
    near_me: bool
    peer: bool


@dataclass(frozen=True)
class SignIn:
    """What a person typed to sign in: their user name (as a full Matrix ID) and password."""

    user_id: str
    password: str


def posted_values(data: Mapping[str, Any]) -> dict[str, list[str]]:
    """A posted form (aiohttp's MultiDict) as plain lists of values by field name."""
    return {name: [str(v) for v in data.getall(name)] for name in set(data.keys())}  # type: ignore[attr-defined]


def one(data: FormData, name: str) -> str:
    """A single posted value, trimmed; empty when missing."""
    values = data.get(name) or ()
    return values[0].strip() if values else ""


def many(data: FormData, name: str) -> list[str]:
    """Every posted value of a field (ticked check boxes), trimmed, without repeats."""
    seen: list[str] = []
    for value in data.get(name) or ():
        value = value.strip()
        if value and value not in seen:
            seen.append(value)
    return seen


def _required(data: FormData, name: str, errors: dict[str, str], empty: str) -> list[str]:
    """Every value of a field the person must fill in; ``empty`` says so if they did not."""
    chosen = many(data, name)
    if not chosen:
        errors[name] = empty
    return chosen


def _lists(
    data: FormData, errors: dict[str, str], *, languages: str, interests: str, availability: str
) -> dict[str, list[str]]:
    """The lists both forms ask for, each required; the arguments say what is missing."""
    words = [w.strip() for w in _WORD_SEPARATORS.split(one(data, "interest_words")) if w.strip()]
    keys = many(data, "interests")
    if not keys and not words:
        errors["interests"] = interests
    return {
        "languages": _required(data, "languages", errors, languages),
        "interest_keys": keys,
        "interest_words": words,
        "contact_modes": _required(
            data, "contact_modes", errors, N_("Choose at least one way to keep in touch.")
        ),
        "availability": _required(data, "availability", errors, availability),
    }


_FIELD = {"display_name": "name", "interest_keys": "interests"}
"""The form's name of a profile field, where the two differ."""
_SAYS = {
    "choice": N_("Choose from the list."),
    "language": N_("Choose from the list."),
    "postcode": N_("A Danish postcode has four digits, for example 8000."),
    "capacity": N_("Choose 1, 2 or 3."),
    "age_bounds": N_("Write an age from 18 to 110, or leave the field empty."),
    "age_order": N_("The highest age must not be lower than the lowest age."),
    "too_long": N_("This text is too long."),
    "too_long name": N_("The name is too long: at most 128 characters."),
    "too_long interest_words": N_("Please keep your own words under 500 characters."),
}
"""What a field says of a problem the profile found, by code (and "code field" where the
field has words of its own)."""


def _judged(
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    this_year: int,
    says: Mapping[str, str],
    fields: Mapping[str, str] | None = None,
) -> Profile | None:
    """The profile a form describes, judged by :class:`connec.profile.Profile`; each problem
    goes beside its field (unless the field already has one), in the words of ``says`` or
    :data:`_SAYS`. ``fields``: form names of profile fields, beyond :data:`_FIELD`."""
    profile, problems = check(values, this_year=this_year)
    names = {**_FIELD, **(fields or {})}
    words = {**_SAYS, **says}
    for problem in problems:
        name = names.get(problem.field, problem.field)
        message = words.get(f"{problem.code} {name}") or words[problem.code]
        errors.setdefault(name, message)
    return profile


def _text(
    data: FormData, name: str, errors: dict[str, str], *, limit: int, required: str | None = None
) -> str:
    text = one(data, name)
    if required and not text:
        errors[name] = required
    elif len(text) > limit:
        errors[name] = N_("This text is too long.")
    return text


def _int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def birth_date(data: FormData) -> date | str:
    """The date of birth from the day, month and year fields, or why it is not a date.

    The three fields are how most people think of a date; a whole date typed into
    the day field ("24-12-1980" or "24.12.1980") is understood too.
    """
    day, month, year = one(data, "birth_day"), one(data, "birth_month"), one(data, "birth_year")
    whole = _DATE_PARTS.match(day)
    if whole and not month and not year:
        day, month, year = whole.groups()
    if not (day or month or year):
        return N_("Write your date of birth.")
    numbers = [_int(part) for part in (day, month, year)]
    if None in numbers or len(year) != 4:
        return N_("Write your date of birth as day, month and year, for example 24 12 1980.")
    try:
        return date(numbers[2], numbers[1], numbers[0])  # type: ignore[arg-type]
    except ValueError:
        return N_("That date does not exist. Check the day and the month.")


def age_on(born: date, today: date) -> int:
    """Whole years of age on ``today``."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def check_matrix_id(value: str, *, server_name: str, allowlist: Sequence[str]) -> str | None:
    """Why an existing Matrix ID cannot be used, or None when it can.

    Only accounts on the trusted servers of the federation allow-list are accepted:
    connec makes accounts on its own server itself, and federates with no one else.
    """
    match = _MATRIX_ID.match(value)
    if not match:
        return N_("A Matrix ID looks like @name:server.example.")
    server = match.group(2).lower()
    if server == server_name.lower():
        return N_("Leave this empty: connec makes your account on its own server for you.")
    if server not in {s.lower() for s in allowlist}:
        return N_("connec can only use Matrix accounts on the servers listed here.")
    return None


def check_volunteer(
    data: FormData, *, today: date, server_name: str, federation_allowlist: Sequence[str]
) -> Checked[VolunteerSignUp]:
    """Check a volunteer's sign-up. Only 18-year-olds and older may sign up."""
    errors: dict[str, str] = {}
    form = _echo(data)
    name = one(data, "name")
    if not name:
        errors["name"] = N_("Write your name.")

    email = one(data, "email")
    if not email:
        errors["email"] = N_("Write your e-mail address, so a coordinator can contact you.")
    elif len(email) > EMAIL_MAX or not _EMAIL.match(email):
        errors["email"] = N_("Write a whole e-mail address, for example anna@example.dk.")

    phone = one(data, "phone")
    if phone and (not _PHONE.match(phone) or not 8 <= sum(ch.isdecimal() for ch in phone) <= 15):
        errors["phone"] = N_("Write a phone number with 8 to 15 digits, for example 20 30 40 50.")

    # The date is checked to the day here; the profile judges the year like every door.
    born = birth_date(data)
    if isinstance(born, str):
        errors["birth_date"] = born
    elif born > today or age_on(born, today) > OLDEST:
        errors["birth_date"] = N_("Check the year of your date of birth.")
    elif age_on(born, today) < VOLUNTEER_MIN_AGE:
        errors["birth_date"] = _TOO_YOUNG_VOLUNTEER

    municipality = one(data, "municipality")
    if not municipality:
        errors["municipality"] = N_("Choose your municipality, or that you live outside Denmark.")
    elif municipality != ABROAD and municipality not in MUNICIPALITIES:
        errors["municipality"] = N_("Choose from the list.")
    capacity = _int(one(data, "capacity") or str(MIN_CAPACITY))
    values = {
        "role": "volunteer",
        "display_name": name or None,
        "birth_year": born.year if isinstance(born, date) else None,
        "gender": one(data, "gender") or None,
        "municipality": None if municipality == ABROAD else municipality or None,
        "postcode": one(data, "postcode") or None,
        **_lists(
            data,
            errors,
            languages=N_("Choose at least one language you speak."),
            interests=N_("Choose at least one interest, or write your own in the field below."),
            availability=N_("Tick at least one time of the week when you could talk."),
        ),
        "capacity": capacity if capacity is not None else 0,
    }
    profile = _judged(
        values,
        errors,
        this_year=today.year,
        says={
            "name_empty": N_("Write your name."),
            "too_young": _TOO_YOUNG_VOLUNTEER,
            "year": N_("Check the year of your date of birth."),
        },
        fields={"birth_year": "birth_date"},
    )
    motivation = _text(
        data,
        "motivation",
        errors,
        limit=TEXT_MAX,
        required=N_("Tell us in a few words why you would like to be an online visiting friend."),
    )
    organisation = _text(data, "organisation", errors, limit=NAME_MAX)

    matrix_id = one(data, "matrix_id")
    if matrix_id:
        problem = check_matrix_id(
            matrix_id, server_name=server_name, allowlist=federation_allowlist
        )
        if problem:
            errors["matrix_id"] = problem

    if one(data, "consent") != "yes":
        errors["consent"] = N_("Tick the box to agree, so we may keep your answers.")

    if errors or profile is None:
        return Checked(form, errors)
    return Checked(
        form,
        value=VolunteerSignUp(
            **profile.model_dump(include=set(PERSON_FIELDS)),
            email=email,
            phone=phone or None,
            capacity=profile.capacity or MIN_CAPACITY,
            motivation=motivation,
            organisation=organisation or None,
            matrix_id=matrix_id or None,
        ),
    )


_TOO_YOUNG_VOLUNTEER = N_(
    "You must be 18 or older to become an online visiting friend. You are welcome to sign up when you turn 18."
)


def check_citizen(data: FormData, *, this_year: int) -> Checked[CitizenEnrolment]:
    """Check a citizen's enrolment, filled in by a frontline worker together with them."""
    errors: dict[str, str] = {}
    form = _echo(data)
    name = one(data, "name")
    if not name:
        errors["name"] = N_("Write the citizen's name.")

    year_text = one(data, "birth_year")
    birth_year = _int(year_text) if len(year_text) == 4 else None
    if not year_text:
        errors["birth_year"] = N_("Write the citizen's year of birth, for example 1948.")
    elif birth_year is None:
        errors["birth_year"] = _YEAR_DIGITS

    language = one(data, "language") or "da"
    if language not in ("da", "en"):
        errors["language"] = N_("Choose from the list.")
    ages = {key: one(data, key) for key in ("age_min", "age_max")}
    for key, text in ages.items():
        if text and _int(text) is None:
            errors[key] = N_("Write an age from 18 to 110, or leave the field empty.")
    distance = one(data, "distance") or "anywhere"
    if distance not in ("near", "anywhere"):
        errors["distance"] = N_("Choose from the list.")
    values = {
        "role": "citizen",
        "display_name": name or None,
        "birth_year": birth_year,
        "gender": one(data, "gender") or None,
        "postcode": one(data, "postcode") or None,
        "about": one(data, "about"),
        **_lists(
            data,
            errors,
            languages=N_("Choose at least one language."),
            interests=N_("Choose at least one interest, or write the citizen's own words below."),
            availability=N_("Tick at least one time of the week when the citizen could talk."),
        ),
        "partner_gender": one(data, "partner_gender") or None,
        "age_min": _int(ages["age_min"]) if ages["age_min"] else None,
        "age_max": _int(ages["age_max"]) if ages["age_max"] else None,
        "near_me": distance == "near",
    }
    profile = _judged(
        values,
        errors,
        this_year=this_year,
        says={
            "name_empty": N_("Write the citizen's name."),
            "too_young": N_("The citizen must be 18 or older."),
            "year": _YEAR_DIGITS,
        },
    )
    if distance == "near" and not values["postcode"] and "postcode" not in errors:
        errors["postcode"] = N_("Write the citizen's postcode, so connec knows what is near.")
    if one(data, "consent") != "yes":
        errors["consent"] = N_("The citizen must agree before they can be enrolled.")

    if errors or profile is None:
        return Checked(form, errors)
    return Checked(
        form,
        value=CitizenEnrolment(
            **profile.model_dump(include=set(PERSON_FIELDS) - {"municipality"}),
            language=language,
            about=profile.about or "",
            partner_gender=profile.partner_gender,
            age_min=profile.age_min,
            age_max=profile.age_max,
            near_me=bool(profile.near_me),
            peer=one(data, "peer") == "yes",
        ),
    )


_YEAR_DIGITS = N_("Write the year of birth with four digits, for example 1948.")


def check_sign_in(data: FormData, *, server_name: str) -> Checked[SignIn]:
    """Check a sign-in form: a user name ("karen.hansen" or "@karen.hansen:server") and password.

    Only accounts on connec's own server can sign in here; anything else gets the same
    answer as a wrong password later, so the form never tells who exists.
    """
    errors: dict[str, str] = {}
    user = one(data, "user")
    password = (data.get("password") or [""])[0]
    form = {"user": user}
    if not user:
        errors["user"] = N_("Write your user name.")
    elif len(user) > USER_ID_MAX:
        errors["user"] = N_("A user name has at most 255 characters.")
    if not password:
        errors["password"] = N_("Write your password.")
    if errors:
        return Checked(form, errors)
    localpart = user.removeprefix("@").split(":", 1)[0].lower()
    user_id = (
        user.lower() if user.startswith("@") and ":" in user else f"@{localpart}:{server_name}"
    )
    return Checked(form, value=SignIn(user_id=user_id, password=password))


def check_reason(data: FormData) -> Checked[str]:
    """A coordinator's reason for turning a volunteer down: required, and short."""
    errors: dict[str, str] = {}
    reason = _text(
        data,
        "reason",
        errors,
        limit=REASON_MAX,
        required=N_("Write a short reason. It helps if the volunteer asks why."),
    )
    return Checked({"reason": reason}, errors, None if errors else reason)


def _echo(data: FormData) -> dict[str, Any]:
    """The values to show back in the form: one string per field, lists for check boxes."""
    echoed: dict[str, Any] = {}
    for name, values in data.items():
        if name in ("csrf_token", "password"):
            continue  # never echo secrets back into a page
        echoed[name] = list(values) if len(values) != 1 or name in _MULTI else values[0]
    for name in _MULTI:
        echoed.setdefault(name, [])
    return echoed


_MULTI = ("languages", "interests", "contact_modes", "availability")
