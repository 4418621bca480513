"""Every word the portal shows has a Danish translation, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import portal
from connec.i18n import LOCALE_DIR

PORTAL_DIR = Path(portal.__file__).parent
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def portal_msgids() -> dict[str, str]:
    """Every msgid in the portal's code and templates, with where it is used."""
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(PORTAL_DIR),
        method_map=[("**.py", "python"), ("**/templates/**.html", "jinja2")],
        options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        keywords=KEYWORDS,
    ):
        msgid = message if isinstance(message, str) else message[0]
        found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def test_every_portal_message_is_translated_into_danish() -> None:
    with (LOCALE_DIR / "da" / "LC_MESSAGES" / "portal.po").open("rb") as po:
        catalog = read_po(po, locale="da", domain="portal")
    used = portal_msgids()
    assert len(used) > 300  # the extraction found the templates too
    missing = []
    for msgid, where in used.items():
        entry = catalog.get(msgid)
        translated = entry.string if entry else None
        if isinstance(translated, tuple):
            translated = translated[0]
        if not translated:
            missing.append(f"{where}: {msgid}")
        elif set(_PLACEHOLDER.findall(msgid)) != set(_PLACEHOLDER.findall(translated)):
            missing.append(f"{where}: placeholders differ in {msgid!r}")
    assert not missing, "\n".join(missing)
