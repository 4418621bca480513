"""Translations for everything a person reads.

Words live in gettext catalogs, one per part ("domain") and language, under
``connec/locale/<lang>/LC_MESSAGES/<domain>.po``. The source language of the
catalogs is English; Danish is the default language of connec. Catalogs are read
with Babel and compiled in memory once, so no build step is needed.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("da", "en")
DEFAULT_LANGUAGE = "da"


def normalise_language(lang: str | None) -> str:
    """Map any language tag ("da-DK", "EN", None) onto one connec speaks."""
    if not lang:
        return DEFAULT_LANGUAGE
    base = lang.replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def translations(lang: str | None, domain: str) -> NullTranslations:
    """The translations of ``domain`` in ``lang``; English falls back to the msgids."""
    # Kept per language connec speaks, never per tag asked for: a made-up tag must
    # not become a new entry.
    return _translations(normalise_language(lang), domain)


@cache
def _translations(lang: str, domain: str) -> NullTranslations:
    po_path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po"
    if not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as po:
        catalog = read_po(po, locale=lang, domain=domain)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=domain)


def gettext(lang: str | None, domain: str, message: str, **values: object) -> str:
    """Translate ``message`` and fill in ``{name}`` placeholders."""
    text = translations(lang, domain).gettext(message)
    return text.format(**values) if values else text


def ngettext(
    lang: str | None, domain: str, singular: str, plural: str, n: int, **values: object
) -> str:
    """Translate with a plural form chosen by ``n``; ``{n}`` is always available."""
    text = translations(lang, domain).ngettext(singular, plural, n)
    return text.format(n=n, **values)
