"""Templates are compiled once per language, with fixed texts translated in place."""

from __future__ import annotations

import jinja2
import pytest

from portal.templating import (
    TEMPLATE_LANGUAGE,
    FixedTranslations,
    LanguageEnvironment,
    LanguageLoader,
    language_of,
)

TEMPLATES = {
    "base.html": '<p>{{ _("Skip to content") }}</p>{% block body %}{% endblock %}',
    "macros.html": '{% macro hello() %}{{ _("Sign in") }}{% endmacro %}',
    "page.html": (
        '{% extends "base.html" %}{% import "macros.html" as m %}{% block body %}'
        "{{ m.hello() }}|{{ _('Sign out') }}|{{ _(word) }}|"
        '{{ _("Signed in as %(name)s.", name="Anna") }}|{{ obj._("Sign in") }}{% endblock %}'
    ),
}


def environment() -> LanguageEnvironment:
    env = LanguageEnvironment(
        loader=LanguageLoader(jinja2.DictLoader(TEMPLATES)),
        autoescape=True,
        extensions=[FixedTranslations],
        undefined=jinja2.StrictUndefined,
    )
    calls: list[str] = []

    def runtime_gettext(message: str, **values: object) -> str:
        calls.append(message)
        return f"[{message % values if values else message}]"

    env.globals["_"] = runtime_gettext
    env.globals["calls"] = calls
    return env


class Thing:
    def _(self, message: str) -> str:
        return f"obj:{message}"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("da", "<p>Gå til indholdet</p>Log ind|Log ud|[Hej]|[Signed in as Anna.]|obj:Sign in"),
        ("en", "<p>Skip to content</p>Sign in|Sign out|[Hej]|[Signed in as Anna.]|obj:Sign in"),
    ],
)
def test_fixed_texts_are_translated_when_compiled_and_the_rest_at_render(
    lang: str, expected: str
) -> None:
    env = environment()
    token = TEMPLATE_LANGUAGE.set(lang)
    try:
        html = env.get_template("page.html").render(word="Hej", obj=Thing())
    finally:
        TEMPLATE_LANGUAGE.reset(token)
    assert html == expected
    # Only the text from a variable and the one with a value were left to render time.
    assert env.globals["calls"] == ["Hej", "Signed in as %(name)s."]


def test_each_language_is_its_own_compiled_template() -> None:
    env = environment()
    danish = env.get_template("da/page.html")
    english = env.get_template("en/page.html")
    assert danish is not english and danish.name == "da/page.html"
    assert sorted(env.list_templates()) == sorted(
        f"{lang}/{name}" for lang in ("da", "en") for name in TEMPLATES
    )
    with pytest.raises(jinja2.TemplateNotFound):
        env.loader.get_source(env, "page.html")  # type: ignore[union-attr]


def test_a_template_name_says_its_language() -> None:
    assert language_of("da/landing.html") == "da"
    assert language_of("en/element/home.html") == "en"
    assert language_of("element/home.html") is None
    assert language_of("landing.html") is None and language_of(None) is None
