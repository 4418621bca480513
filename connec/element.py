"""Element Web for connec: the two custom themes and the rendered ``config.json``.

The themes live as Element custom-theme definitions in ``element-theme/themes/*.json``;
``element-theme/config.json.j2`` is Element Web's configuration with the deployment's
URLs left as variables. The themes are read from their files and embedded when the
template is rendered, so each colour is written down exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

ELEMENT_THEME_DIR = Path(__file__).resolve().parent.parent / "element-theme"
THEMES_DIR = ELEMENT_THEME_DIR / "themes"
CONFIG_TEMPLATE = "config.json.j2"

CUSTOM_THEME_COLOUR_KEYS: tuple[str, ...] = (
    # Documented in Element Web's docs/theming.md.
    "accent-color",
    "primary-color",
    "warning-color",
    "sidebar-color",
    "roomlist-background-color",
    "roomlist-text-color",
    "roomlist-text-secondary-color",
    "roomlist-highlights-color",
    "roomlist-separator-color",
    "timeline-background-color",
    "timeline-text-color",
    "timeline-text-secondary-color",
    "timeline-highlights-color",
    "username-colors",
    "avatar-background-colors",
    "reaction-row-button-selected-bg-color",
    "menu-selected-color",
    # Read by Element's light-custom stylesheet (res/themes/light-custom/css/_custom.pcss);
    # left out, they fall back to Element's own light colours, which clash with ours.
    "alert",
    "links",
    "background",
    "primary-content",
    "secondary-content",
    "tertiary-content",
    "quaternary-content",
    "quinary-content",
    "system",
    "panels",
    "panels-actions",
    "secondary-hairline-color",
    "focus-bg-color",
    "room-highlight-color",
    "togglesw-off-color",
    "other-user-pill-bg-color",
    "icon-button-color",
    "strong-input-border-color",
    "eventbubble-self-bg",
    "eventbubble-others-bg",
    "eventbubble-bg-hover",
    # The stylesheet reads these with no fallback at all.
    *(f"accent-color-{step}" for step in range(100, 1500, 100)),
)
"""Every colour key Element Web's custom themes take."""

LIST_COLOUR_LENGTHS: Mapping[str, int] = {"username-colors": 8, "avatar-background-colors": 3}
"""How many colours Element expects in each list-valued key (docs/theming.md)."""

HELP_LINK_TEXT = "Help with signing in"
"""The link under Element's sign-in form to the portal's help (/kom-i-gang); a portal msgid."""

_THEME_KEYS = frozenset({"name", "is_dark", "fonts", "colors", "compound"})


class ElementConfigError(ValueError):
    """The Element config template or a theme file does not give valid JSON."""


@dataclass(frozen=True)
class Theme:
    """One Element custom theme, as defined in ``element-theme/themes/<file>.json``."""

    name: str
    is_dark: bool
    colors: Mapping[str, str | list[str]]
    fonts: Mapping[str, Any] = field(default_factory=dict)
    compound: Mapping[str, str] = field(default_factory=dict)
    path: Path | None = None

    @property
    def element_id(self) -> str:
        """The name Element knows the theme by, e.g. in ``default_theme``."""
        return f"custom-{self.name}"

    def as_element(self) -> dict[str, Any]:
        """The theme as an entry of ``setting_defaults.custom_themes``."""
        return {
            "name": self.name,
            "is_dark": self.is_dark,
            "fonts": dict(self.fonts),
            "colors": dict(self.colors),
            "compound": dict(self.compound),
        }


def _read_theme(path: Path) -> Theme:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ElementConfigError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise ElementConfigError(f"{path} must hold one JSON object, a theme")
    unknown = set(data) - _THEME_KEYS
    missing = {"name", "colors"} - set(data)
    if unknown or missing:
        raise ElementConfigError(
            f"{path}: unexpected keys {sorted(unknown)}, missing keys {sorted(missing)}"
        )
    return Theme(
        name=data["name"],
        is_dark=bool(data.get("is_dark", False)),
        colors=data["colors"],
        fonts=data.get("fonts", {}),
        compound=data.get("compound", {}),
        path=path,
    )


def load_themes() -> list[Theme]:
    """Every connec theme in ``element-theme/themes/``, sorted by file name."""
    if not THEMES_DIR.is_dir():
        raise FileNotFoundError(
            f"{THEMES_DIR} is missing: connec must be installed from its source tree "
            "(pip install -e .)."
        )
    return [_read_theme(path) for path in sorted(THEMES_DIR.glob("*.json"))]


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(ELEMENT_THEME_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        # JSON, not HTML: every value goes through the tojson filter instead.
        autoescape=False,
    )


def render_element_config(homeserver_url: str, server_name: str, portal_url: str) -> dict:
    """Render Element Web's ``config.json`` for this deployment and parse it.

    ``portal_url`` is where the portal answers (e.g. ``http://127.0.0.1:8080``); Element
    embeds its ``/element/home`` and ``/element/welcome`` pages. Raises
    :class:`ElementConfigError` if the result is not valid JSON.
    """
    from connec.i18n import DEFAULT_LANGUAGE, translations

    template = _environment().get_template(CONFIG_TEMPLATE)
    words = translations(DEFAULT_LANGUAGE, "portal")  # Element shows them as they are
    text = template.render(
        homeserver_url=homeserver_url.rstrip("/"),
        server_name=server_name,
        portal_url=portal_url.rstrip("/"),
        custom_themes=[theme.as_element() for theme in load_themes()],
        help_link_text=words.gettext(HELP_LINK_TEXT),
    )
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        line = text.splitlines()[error.lineno - 1] if error.lineno else ""
        raise ElementConfigError(
            f"{ELEMENT_THEME_DIR / CONFIG_TEMPLATE} rendered invalid JSON at line "
            f"{error.lineno}, column {error.colno}: {error.msg}\n    {line}"
        ) from error
    if not isinstance(config, dict):
        raise ElementConfigError(f"{CONFIG_TEMPLATE} must render one JSON object")
    return config


def write_element_config(
    data_dir: Path, homeserver_url: str, server_name: str, portal_url: str
) -> Path:
    """Write the rendered config to ``<data_dir>/element/config.json`` and return its path.

    The file holds no secrets (Element Web serves it to every visitor), so the web
    server may read it: 0644 in a folder of 0755, whatever connec's umask.
    """
    config = render_element_config(homeserver_url, server_name, portal_url)
    target = Path(data_dir) / "element" / "config.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.parent.chmod(0o755)
    target.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    target.chmod(0o644)
    return target
