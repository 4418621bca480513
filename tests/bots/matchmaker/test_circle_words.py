"""Everything said about circles has Danish words (Danish is connec's first language)."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2.ext import babel_extract

from bots.matchmaker.bot import Matchmaker
from bots.matchmaker.table import COMMANDS

TEMPLATES = Path(__file__).parents[3] / "bots" / "matchmaker" / "templates"
OPTIONS = {"extensions": "jinja2.ext.i18n", "trim_blocks": "True", "lstrip_blocks": "True"}
CIRCLE_COMMANDS = {"circle", "host", "leave", "handover", "circles", "new-circle", "close-circle"}


def circle_msgids() -> list[str | tuple[str, str]]:
    """The msgids of the circle templates, and the circle lines of the coordinators'."""
    found: list[str | tuple[str, str]] = []
    paths = [*TEMPLATES.glob("circle_*.html"), TEMPLATES / "coordinator_circles.html"]
    shared = ("coordinator_confirm.html", "coordinator_result.html", "coordinator_problem.html")
    for path in sorted(paths) + [TEMPLATES / name for name in shared]:
        with path.open("rb") as template:
            for _, _, message, _ in babel_extract(template, ("gettext", "ngettext"), [], OPTIONS):
                msgid = (
                    (str(message[0]), str(message[1])) if isinstance(message, tuple) else message
                )
                if path.name in shared and "ircle" not in str(msgid):
                    continue
                if msgid not in found:
                    found.append(msgid)
    words = [c.help for c in COMMANDS.commands if c.key in CIRCLE_COMMANDS]
    return (
        found + words + [c.args for c in COMMANDS.commands if c.key in CIRCLE_COMMANDS and c.args]
    )


@pytest.mark.parametrize("msgid", circle_msgids(), ids=str)
def test_every_circle_message_has_danish_words(msgid: str | tuple[str, str]) -> None:
    catalog = Matchmaker.messages._catalog("da")
    if isinstance(msgid, tuple):
        singular, plural = msgid
        assert catalog.ngettext(singular, plural, 1) != singular, f"no Danish for: {singular}"
        assert catalog.ngettext(singular, plural, 2) != plural, f"no Danish for: {plural}"
    elif msgid != "@person":
        assert catalog.gettext(msgid) != msgid, f"no Danish for: {msgid}"
