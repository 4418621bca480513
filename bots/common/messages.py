"""Message templates: words per language live in the catalogs, layout in templates.

A template renders HTML (for Element); the plain ``body`` is derived from the same
HTML, so the two can never say different things.
"""

from __future__ import annotations

import html
import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import jinja2
from babel.support import Translations

from connec.i18n import LOCALE_DIR, normalise_language, translations

COMMON_TEMPLATES = Path(__file__).parent / "templates"


class _TextExtractor(HTMLParser):
    BREAKS: ClassVar[set[str]] = {
        "br",
        "p",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "div",
        "blockquote",
        "tr",
    }

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BREAKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("• ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(markup: str) -> str:
    """A readable plain-text twin of a message's HTML."""
    extractor = _TextExtractor()
    extractor.feed(markup)
    text = html.unescape("".join(extractor.parts))
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _compact_html(markup: str) -> str:
    return re.sub(r">\s+<", "><", markup.strip())


class Messages:
    """Renders a bot's message templates in a person's language."""

    def __init__(self, domain: str, template_dir: Path) -> None:
        self.domain = domain
        self.template_dirs = [template_dir, COMMON_TEMPLATES]

    @cache  # noqa: B019 - one environment per language for the life of the bot
    def _environment(self, lang: str) -> jinja2.Environment:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(d) for d in self.template_dirs]),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.install_gettext_translations(self._catalog(lang), newstyle=True)  # type: ignore[attr-defined]
        env.globals["lang"] = lang
        return env

    @cache  # noqa: B019 - one catalog per language for the life of the bot
    def _catalog(self, lang: str) -> Translations:
        """The shared bot words merged with this bot's own (``<domain>*.po``, one per job)."""
        merged = Translations()
        own = sorted(p.stem for p in (LOCALE_DIR / lang / "LC_MESSAGES").glob(f"{self.domain}*.po"))
        for domain in ("bots", *own):
            catalog = translations(lang, domain)
            if isinstance(catalog, Translations):
                merged.merge(catalog)
        return merged

    def render(self, template: str, lang: str | None, **values: object) -> tuple[str, str]:
        """``(plain body, html)`` of a template in ``lang``."""
        env = self._environment(normalise_language(lang))
        markup = _compact_html(env.get_template(template).render(**values))
        return html_to_text(markup), markup

    def gettext(self, lang: str | None, message: str) -> str:
        """One translated phrase (for command names and help lines)."""
        return self._catalog(normalise_language(lang)).gettext(message)
