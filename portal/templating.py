"""The portal's templates, compiled once for each language.

Most words on a page are fixed, ``{{ _("Skip to content") }}``, and translating
them again at every request was a good part of what a long form cost to render.
So each template is compiled once per language, under the name ``da/<name>`` or
``en/<name>``, with every ``_("...")`` of a single fixed text replaced by its
translation. Calls with values (``_("Hello %(name)s", name=...)``) or with a
variable (``_(message)``) are left to the ``_`` function at render time.

Views name templates without a language, as before: the language middleware
records the person's language for the request in :data:`TEMPLATE_LANGUAGE`, and
the environment picks the template in that language; a template's ``extends`` and
``import`` stay in its own language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from contextvars import ContextVar
from typing import Any

import jinja2
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream

from connec.i18n import DEFAULT_LANGUAGE, LANGUAGES, translations

TEMPLATE_LANGUAGE: ContextVar[str] = ContextVar("template_language", default=DEFAULT_LANGUAGE)
"""The language of the request being answered: set by the language middleware."""


def language_of(name: str | None) -> str | None:
    """The language a template name is compiled for ("da/landing.html" → "da")."""
    head, slash, _rest = (name or "").partition("/")
    return head if slash and head in LANGUAGES else None


class FixedTranslations(Extension):
    """Replaces ``_("a fixed text")`` with its translation when a template is compiled."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        lang = language_of(stream.name)
        if lang is None:
            yield from stream
            return
        catalog = translations(lang, "portal")
        window: list[Token] = []
        for token in stream:
            window.append(token)
            if len(window) >= 4 and _is_fixed_call(window[-5:]):
                text = window[-2]
                del window[-4:]
                window.append(Token(text.lineno, "string", catalog.gettext(text.value)))
            if len(window) > 5:
                yield window.pop(0)
        yield from window


def _is_fixed_call(tokens: list[Token]) -> bool:
    """Whether the last four tokens are ``_ ( "text" )``, and not ``x._("text")``."""
    *before, name, open_, text, close = tokens
    return (
        name.test("name:_")
        and open_.type == "lparen"
        and text.type == "string"
        and close.type == "rparen"
        and not (before and before[-1].type == "dot")
    )


class LanguageEnvironment(jinja2.Environment):
    """Templates in the request's language; includes stay in the including one's."""

    def join_path(self, template: str, parent: str) -> str:
        lang = language_of(parent)
        if lang and language_of(template) is None:
            return f"{lang}/{template}"
        return template

    def get_template(
        self,
        name: str | jinja2.Template,
        parent: str | None = None,
        globals: MutableMapping[str, Any] | None = None,
    ) -> jinja2.Template:
        if isinstance(name, str) and parent is None and language_of(name) is None:
            name = f"{TEMPLATE_LANGUAGE.get()}/{name}"
        return super().get_template(name, parent, globals)


class LanguageLoader(jinja2.BaseLoader):
    """Another loader's templates under each language's prefix: "da/landing.html".

    Unlike Jinja's PrefixLoader, a template keeps its whole name, language and all,
    which is what its compilation and its includes go by.
    """

    def __init__(self, templates: jinja2.BaseLoader) -> None:
        self.templates = templates

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        if language_of(template) is None:
            raise jinja2.TemplateNotFound(template)
        return self.templates.get_source(environment, template.partition("/")[2])

    def list_templates(self) -> list[str]:
        return [f"{lang}/{name}" for lang in LANGUAGES for name in self.templates.list_templates()]
