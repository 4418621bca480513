"""From stored people to the plain profiles scoring works on."""

from __future__ import annotations

from bots.matchmaker.scoring import MatchPreferences, Profile
from connec.interests import interests_from_keys, understand_interests
from connec.models import Person


def to_profile(person: Person) -> Profile:
    """A person's matching snapshot; their interests as keys plus their own words."""
    interests = interests_from_keys(person.interest_keys or []) | understand_interests(
        person.interest_words or []
    )
    return Profile(
        person_id=person.id,
        role=person.role,  # type: ignore[arg-type]
        display_name=person.display_name,
        birth_year=person.birth_year,
        gender=person.gender,
        postcode=person.postcode,
        municipality=person.municipality,
        languages=frozenset(person.languages or ["da"]),
        interests=interests,
        contact_modes=frozenset(person.contact_modes or ["chat", "voice", "video"]),
        availability=frozenset(person.availability or []),
        prefs=MatchPreferences(
            partner_gender=person.partner_gender,
            age_min=person.age_min,
            age_max=person.age_max,
            near_me=person.near_me,
        ),
        capacity=person.capacity or 1,
    )


def first_name(person: Person) -> str:
    """What the other person is told: a first name only."""
    return (person.display_name or "").split(" ")[0] or "?"
