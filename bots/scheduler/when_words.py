"""Spell a visit's time out in words, the way a person would say it back.

Weekday and month names and the clock format come from Babel's locale data (CLDR);
the few words around them ("den", "kl.", "every") live in the ``scheduler_time``
gettext catalog. English uses the British conventions (``en_GB``): day before month
and a 24-hour clock, which is what people in Denmark expect.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time

from connec.i18n import gettext, normalise_language

DOMAIN = "scheduler_time"

# Which Babel locale formats each language connec speaks.
_BABEL_LOCALES: Mapping[str, str] = MappingProxyType({"da": "da", "en": "en_GB"})


def _localised(dt: datetime, lang: str | None, zone: str | None) -> tuple[datetime, str, str]:
    language = normalise_language(lang)
    local = dt.astimezone(ZoneInfo(zone)) if zone else dt
    return local, language, _BABEL_LOCALES[language]


def spell_out(dt: datetime, lang: str | None, zone: str | None = None) -> str:
    """One visit's time in words: "torsdag den 3. december kl. 14.00".

    ``dt`` is spelled in its own time zone unless ``zone`` names another.
    """
    local, language, locale = _localised(dt, lang, zone)
    # Translators: a Babel/CLDR date pattern for the weekday, day and month of a visit.
    day_pattern = gettext(language, DOMAIN, "EEEE d MMMM")
    day = format_datetime(local, day_pattern, locale=locale)
    clock = format_time(local, "short", locale=locale)
    return gettext(language, DOMAIN, "{day} at {time}", day=day, time=clock)


def spell_out_day(day: date, lang: str | None) -> str:
    """A day in words, without a time: "torsdag den 3. december" / "Thursday 3 December"."""
    language = normalise_language(lang)
    pattern = gettext(language, DOMAIN, "EEEE d MMMM")
    return format_date(day, pattern, locale=_BABEL_LOCALES[language])


def spell_out_weekly(dt: datetime, lang: str | None, zone: str | None = None) -> str:
    """A weekly visit in words: "hver onsdag kl. 10.00" / "every Wednesday at 10:00"."""
    local, language, locale = _localised(dt, lang, zone)
    weekday = format_datetime(local, "EEEE", locale=locale)
    clock = format_time(local, "short", locale=locale)
    return gettext(language, DOMAIN, "every {weekday} at {time}", weekday=weekday, time=clock)
