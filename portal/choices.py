"""The choices the profile forms offer, named in the reader's language.

Interests come from connec's one taxonomy (the matchmaker's too); language and day
names come from Babel's locale data, so they need no translations of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time
from functools import cache
from typing import Any

from babel import Locale
from babel.dates import format_time, get_day_names
from babel.lists import format_list

from connec.interests import all_interests, groups
from connec.municipalities import MUNICIPALITIES
from connec.people import CONTACT_MODES, DAYS, PARTS_OF_DAY
from portal.forms import ABROAD, LANGUAGE_CHOICES
from portal.i18n import N_, _
from portal.widgets import Kept

PART_NAMES = {"am": N_("Morning"), "pm": N_("Afternoon"), "eve": N_("Evening")}
CONTACT_NAMES = {
    "chat": N_("Writing (chat)"),
    "voice": N_("Voice calls"),
    "video": N_("Video calls"),
}
GENDER_NAMES = {"female": N_("Woman"), "male": N_("Man"), "other": N_("Other")}


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


@cache
def day_names(lang: str) -> tuple[tuple[str, str], ...]:
    """(day, name) for Monday to Sunday, e.g. ("mon", "Mandag")."""
    names = get_day_names("wide", locale=lang)
    return tuple((day, _capital(names[index])) for index, day in enumerate(DAYS))


def slot_name(slot: str, lang: str) -> str:
    """A weekly slot in words: "tue-am" → "Tirsdag formiddag"."""
    day, part = slot.split("-", 1)
    days = dict(day_names(lang))
    return f"{days.get(day, day)}, {_(lang, PART_NAMES.get(part, part)).lower()}"


@cache
def language_name(code: str, lang: str) -> str:
    """A language's name in ``lang``: "en" → "Engelsk" in Danish."""
    name = Locale.parse(lang).languages.get(code, code)
    return _capital(name)


@cache
def interest_groups(lang: str) -> tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]:
    """The taxonomy's groups in order, each with its interests as (key, label)."""
    by_group: dict[str, list[tuple[str, str]]] = {}
    for interest in all_interests():
        by_group.setdefault(interest.group, []).append((interest.key, interest.label(lang)))
    return Kept(
        (group.key, group.label(lang), Kept(by_group.get(group.key, ()))) for group in groups()
    )


def interest_label(key: str, lang: str) -> str:
    """An interest's name, or its key if the taxonomy no longer has it."""
    for interest in all_interests():
        if interest.key == key:
            return interest.label(lang)
    return key


def profile_choices(lang: str) -> dict[str, Any]:
    """Everything a profile form needs to offer, for the template (a fresh dict each time)."""
    return dict(_profile_choices(lang))


@cache
def _profile_choices(lang: str) -> dict[str, Any]:
    # Kept: the forms' option lists are cache keys in portal.widgets at every render.
    return {
        "days": Kept(day_names(lang)),
        "parts": Kept((part, _(lang, PART_NAMES[part])) for part in PARTS_OF_DAY),
        "interest_groups": interest_groups(lang),
        "language_options": Kept((code, language_name(code, lang)) for code in LANGUAGE_CHOICES),
        "contact_options": Kept((mode, _(lang, CONTACT_NAMES[mode])) for mode in CONTACT_MODES),
        "gender_options": Kept(
            (
                ("", _(lang, N_("Not stated"))),
                *((g, _(lang, name)) for g, name in GENDER_NAMES.items()),
            )
        ),
        "municipality_options": Kept(
            (
                ("", _(lang, N_("Choose a municipality"))),
                *((m, m) for m in MUNICIPALITIES),
                (ABROAD, _(lang, N_("I live outside Denmark"))),
            )
        ),
    }


def describe_languages(codes: list[str], lang: str) -> str:
    """Languages in words: "Dansk, Engelsk"."""
    return ", ".join(language_name(code, lang) for code in codes)


def describe_interests(keys: list[str], words: list[str], lang: str) -> str:
    """Ticked interests by name, then the person's own words."""
    return ", ".join([interest_label(key, lang) for key in keys] + list(words))


def describe_slots(slots: list[str], lang: str) -> str:
    """Weekly times in words: "Tirsdag, formiddag; Torsdag, eftermiddag"."""
    return "; ".join(slot_name(slot, lang) for slot in slots)


def opening_hours(days: Sequence[str], opens: time, closes: time, lang: str) -> str:
    """When a help line answers, in words: "Mandag-fredag kl. 09.00-15.00"."""
    names = get_day_names("wide", locale=lang)
    name = {day: names[index] for index, day in enumerate(DAYS)}
    runs: list[list[str]] = []
    for day in DAYS:
        if day not in days:
            continue
        if runs and DAYS.index(runs[-1][-1]) == DAYS.index(day) - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts: list[str] = []
    for run in runs:
        if len(run) > 2:
            parts.append(f"{name[run[0]]}–{name[run[-1]]}")
        else:
            parts.extend(name[day] for day in run)
    clock = "HH.mm" if lang == "da" else "HH:mm"  # the 24-hour clock, as in Denmark
    return _(lang, N_("%(days)s, %(opens)s–%(closes)s")) % {
        "days": _capital(format_list(parts, locale=lang)),
        "opens": format_time(opens, clock, locale=lang),
        "closes": format_time(closes, clock, locale=lang),
    }
