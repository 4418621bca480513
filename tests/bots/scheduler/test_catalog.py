"""Everything the scheduler says has Danish words (Danish is connec's first language)."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2.ext import babel_extract

from bots.scheduler.bot import Scheduler
from bots.scheduler.calendar import CIRCLE_WORDS, MODE_WORDS
from bots.scheduler.table import COMMANDS

TEMPLATES = Path(__file__).parents[3] / "bots" / "scheduler" / "templates"
OPTIONS = {"extensions": "jinja2.ext.i18n", "trim_blocks": "True", "lstrip_blocks": "True"}


def template_msgids() -> list[str | tuple[str, str]]:
    """Every msgid in the templates; a (singular, plural) pair where there is a plural."""
    found: list[str | tuple[str, str]] = []
    for path in sorted(TEMPLATES.glob("*.html")):
        with path.open("rb") as template:
            for _, _, message, _ in babel_extract(template, ("gettext", "ngettext"), [], OPTIONS):
                msgid = (
                    (str(message[0]), str(message[1])) if isinstance(message, tuple) else message
                )
                if isinstance(msgid, (str, tuple)) and msgid not in found:
                    found.append(msgid)
    return found


def code_msgids() -> list[str | tuple[str, str]]:
    words = [c.help for c in COMMANDS.commands] + [c.args for c in COMMANDS.commands if c.args]
    return [*words, *MODE_WORDS.values(), "Visit: {a} and {b}", CIRCLE_WORDS, "Circle: {topic}"]


@pytest.mark.parametrize("msgid", template_msgids() + code_msgids(), ids=str)
def test_every_message_has_danish_words(msgid: str | tuple[str, str]) -> None:
    catalog = Scheduler.messages._catalog("da")
    if isinstance(msgid, tuple):
        singular, plural = msgid
        assert catalog.ngettext(singular, plural, 1) != singular, f"no Danish for: {singular}"
        assert catalog.ngettext(singular, plural, 2) != plural, f"no Danish for: {plural}"
    else:
        assert catalog.gettext(msgid) != msgid, f"no Danish for: {msgid}"
