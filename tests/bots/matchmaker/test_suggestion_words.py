"""A suggested pair in the coordinators' room reads in the coordinators' language."""

from __future__ import annotations

from types import SimpleNamespace

from bots.matchmaker.bot import Matchmaker


def suggestion(lang: str) -> str:
    amal = SimpleNamespace(display_name="Amal Haddad", role="citizen")
    sara = SimpleNamespace(display_name="Sara Ali", role="volunteer")
    body, _ = Matchmaker.messages.render(
        "proposal_suggested.html", lang, number=1, a=amal, b=sara, score="4.5", reasons=""
    )
    return body


def test_roles_in_a_danish_suggestion_are_danish_words() -> None:
    body = suggestion("da")
    assert "Amal Haddad (borger) + Sara Ali (frivillig)" in body
    assert "citizen" not in body and "volunteer" not in body


def test_roles_in_an_english_suggestion_are_english_words() -> None:
    assert "Amal Haddad (citizen) + Sara Ali (volunteer)" in suggestion("en")
