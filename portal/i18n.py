"""Marking words for translation where they are chosen, not where they are shown.

Views and form checks pick a message (an English msgid) and templates translate it
with ``_()`` when showing it. :func:`N_` marks such a message so that message
extraction, and the test that every msgid has a Danish translation, find it.
"""

from __future__ import annotations

from connec.i18n import translations


def N_(message: str) -> str:
    """Mark ``message`` for translation later; answers it unchanged."""
    return message


def _(lang: str, message: str) -> str:
    """``message`` in ``lang``, for words put together in Python rather than a template."""
    return translations(lang, "portal").gettext(message)
