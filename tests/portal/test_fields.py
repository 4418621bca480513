"""The form fields and lists of choices: ARIA wiring, translation, escaping, and caches
that never carry one person's ticks into another person's form."""

from __future__ import annotations

import re

from jinja2 import Environment

from portal.fields import GLOBALS, described_by, hint_and_error
from portal.widgets import choice_boxes, interest_groups, select_options, week_grid_rows


def render(source: str, lang: str = "da", **values: object) -> str:
    environment = Environment(autoescape=True)
    environment.globals.update(GLOBALS)
    return environment.from_string(source).render(lang=lang, **values)


def test_a_field_in_error_points_to_its_hint_and_its_error_in_danish() -> None:
    html = render(
        '{{ text_field("email", "E-mail", form, errors, hint="Til koordinatoren", required=True) }}',
        form={"email": "anna-at-example"},
        errors={"email": "Write an e-mail address like anna@example.dk."},
    )
    assert 'class="field field-error"' in html
    assert 'aria-describedby="email-hint email-error" aria-invalid="true"' in html
    assert '<p class="hint" id="email-hint">Til koordinatoren</p>' in html
    error = re.search(r'<p class="error-message" id="email-error">(.*?)</p>', html)
    assert error and "Fejl:" in error.group(1) and "anna@example.dk" in error.group(1)
    assert 'required aria-required="true"' in html and "(valgfrit)" not in html


def test_an_optional_field_says_so_in_the_persons_language() -> None:
    assert "(valgfrit)" in render('{{ text_field("phone", "Telefon", {}, {}) }}')
    assert "(optional)" in render('{{ text_field("phone", "Phone", {}, {}) }}', lang="en")


def test_what_a_person_typed_is_escaped_everywhere_it_is_shown() -> None:
    typed = {
        "name": '"><script>alert(1)</script>',
        "motivation": "</textarea><script>x</script>",
        "interest_words": "<b>jazz</b>",
        "birth_day": '"onfocus="x',
    }
    html = render(
        '{{ text_field("name", "Navn", form, {}) }}{{ textarea("motivation", "Hvorfor", form, {}) }}'
        '{{ interests_picker("I", "h", "w", "wh", [], form, {}) }}{{ birth_date("B", "h", form, {}) }}',
        form=typed,
    )
    assert "<script>" not in html and "<b>" not in html and '"onfocus' not in html
    assert "&lt;/textarea&gt;&lt;script&gt;" in html


def test_a_choice_group_and_the_consent_box_tick_what_the_form_holds() -> None:
    html = render(
        '{{ choice_group("contact_modes", "Hvordan", [("chat", "Chat"), ("video", "Video")], form, {}) }}'
        '{{ consent("consent", "Jeg siger ja", form, {}) }}',
        form={"contact_modes": ["video"], "consent": "yes"},
    )
    assert 'value="video" checked' in html and 'value="chat"><label' in html
    assert 'id="field-consent-yes" name="consent" value="yes" checked required' in html


def test_a_hint_and_error_need_not_be_there() -> None:
    assert hint_and_error("x", {}, None, "da") == ""
    assert described_by("x", {}, None) == ""
    assert described_by("x", {"x": "Bad"}, None, invalid=False) == ' aria-describedby="x-error"'


def test_kept_lists_never_carry_ticks_from_one_form_to_the_next() -> None:
    options = [("jazz", "Jazz"), ("bridge", "Bridge")]
    assert 'value="jazz" checked' in choice_boxes("interests", options, ["jazz"])
    assert "checked" not in choice_boxes("interests", options, [])
    assert "checked" not in choice_boxes("interests", tuple(options), ())
    assert 'value="b" selected' in select_options([("a", "A"), ("b", "B")], "b")
    assert "selected" not in select_options([("a", "A"), ("b", "B")], "")


def test_an_interest_group_opens_and_counts_when_something_in_it_is_ticked() -> None:
    groups = [
        ("music", "Musik", (("jazz", "Jazz"), ("rock", "Rock"))),
        ("games", "Spil", (("bridge", "Bridge"),)),
    ]
    html = interest_groups(groups, ["jazz", "rock"], "da")
    music, games = html.split("</details>")[:2]
    assert 'id="group-music" open' in music and "(2 valgt)" in music
    assert " open" not in games and "valgt" not in games
    assert " open" not in interest_groups(groups, [], "da")


def test_the_week_grid_ticks_only_the_chosen_times() -> None:
    days = [("mon", "Mandag"), ("tue", "Tirsdag")]
    parts = [("am", "Formiddag"), ("pm", "Eftermiddag")]
    html = week_grid_rows(days, parts, ["tue-pm"])
    assert html.count(" checked") == 1 and 'value="tue-pm" checked' in html
    assert week_grid_rows(days, parts, []).count(" checked") == 0
