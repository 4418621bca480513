"""Colour contrast by WCAG 2.2, and the text/background pairs of a connec Element theme.

connec's readers are mostly 55–80 years old, so the themes aim higher than the usual
web minimum: body text meets WCAG's enhanced level (7:1, success criterion 1.4.6),
secondary text, links, names and button labels meet 4.5:1 (1.4.3), and the edges of
controls (input borders, switches, icons) meet 3:1 (1.4.11).

Both the tests and the portal's theme preview read :func:`theme_pairs`, so the list of
what is checked lives here and nowhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connec.element import Theme

BODY = 7.0
"""Body text: WCAG 2.2 enhanced contrast (1.4.6, level AAA)."""

SECONDARY = 4.5
"""Secondary text, links, names, accents and button labels: WCAG 2.2 1.4.3 (level AA)."""

NON_TEXT = 3.0
"""Borders of inputs, switches and icons: WCAG 2.2 non-text contrast (1.4.11)."""

_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")

# The (foreground, background) references checked in every theme, grouped by the minimum
# they must meet. A reference is a key of the theme's "colors" (a list key such as
# "username-colors" stands for each of its entries) or "compound:" and a Compound token.
# Light labels on solid colours (buttons, badges, avatars) are checked with the
# timeline background as the label colour: it is a shade darker than the white Element
# may use, so the check errs on the strict side.
_BODY_PAIRS: tuple[tuple[str, str], ...] = (
    *(
        ("timeline-text-color", background)
        for background in (
            "timeline-background-color",
            "timeline-highlights-color",
            "eventbubble-self-bg",
            "eventbubble-others-bg",
            "eventbubble-bg-hover",
            "menu-selected-color",
            "reaction-row-button-selected-bg-color",
            "focus-bg-color",
            "other-user-pill-bg-color",
            "sidebar-color",
            "panels",
            "system",
            "quinary-content",
        )
    ),
    ("roomlist-text-color", "roomlist-background-color"),
    ("roomlist-text-color", "roomlist-highlights-color"),
    ("roomlist-text-color", "panels-actions"),
    ("primary-content", "background"),
    ("primary-content", "roomlist-background-color"),
    *(
        ("compound:--cpd-color-text-primary", f"compound:{background}")
        for background in (
            "--cpd-color-theme-bg",
            "--cpd-color-bg-canvas-default",
            "--cpd-color-bg-subtle-primary",
            "--cpd-color-bg-subtle-secondary",
        )
    ),
)

_SECONDARY_PAIRS: tuple[tuple[str, str], ...] = (
    *(
        ("timeline-text-secondary-color", background)
        for background in (
            "timeline-background-color",
            "timeline-highlights-color",
            "eventbubble-self-bg",
            "eventbubble-others-bg",
            "menu-selected-color",
        )
    ),
    *(
        (text, background)
        for text in ("secondary-content", "tertiary-content", "quaternary-content")
        for background in (
            "timeline-background-color",
            "roomlist-background-color",
            "eventbubble-self-bg",
            "eventbubble-others-bg",
        )
    ),
    ("roomlist-text-secondary-color", "roomlist-background-color"),
    ("roomlist-text-secondary-color", "roomlist-highlights-color"),
    # The unread badge: Element paints it in roomlist-text-secondary-color.
    ("timeline-background-color", "roomlist-text-secondary-color"),
    ("accent-color", "timeline-background-color"),
    ("accent-color", "roomlist-background-color"),
    ("timeline-background-color", "accent-color"),
    ("primary-color", "timeline-background-color"),
    ("primary-color", "roomlist-background-color"),
    ("links", "timeline-background-color"),
    ("links", "eventbubble-self-bg"),
    ("links", "eventbubble-others-bg"),
    ("warning-color", "timeline-background-color"),
    ("warning-color", "roomlist-background-color"),
    ("timeline-background-color", "warning-color"),
    ("timeline-background-color", "alert"),
    ("room-highlight-color", "timeline-background-color"),
    ("room-highlight-color", "roomlist-background-color"),
    ("username-colors", "timeline-background-color"),
    ("username-colors", "eventbubble-others-bg"),
    ("timeline-background-color", "avatar-background-colors"),
    *(
        ("compound:--cpd-color-text-secondary", f"compound:{background}")
        for background in (
            "--cpd-color-bg-canvas-default",
            "--cpd-color-bg-subtle-primary",
            "--cpd-color-bg-subtle-secondary",
        )
    ),
    # Compound's avatars put decorative text on the matching decorative background, and
    # its display names put the decorative text on the canvas.
    *(
        (f"compound:--cpd-color-text-decorative-{n}", f"compound:{background}")
        for n in range(1, 7)
        for background in (f"--cpd-color-bg-decorative-{n}", "--cpd-color-bg-canvas-default")
    ),
    ("compound:--cpd-color-text-action-accent", "compound:--cpd-color-bg-canvas-default"),
    ("compound:--cpd-color-text-action-accent", "compound:--cpd-color-bg-subtle-secondary"),
    ("compound:--cpd-color-text-link-external", "compound:--cpd-color-bg-canvas-default"),
    ("compound:--cpd-color-text-critical-primary", "compound:--cpd-color-bg-canvas-default"),
    *(
        ("compound:--cpd-color-text-on-solid-primary", f"compound:{background}")
        for background in (
            "--cpd-color-bg-action-primary-rest",
            "--cpd-color-bg-action-primary-hovered",
            "--cpd-color-bg-action-primary-pressed",
            "--cpd-color-bg-accent-rest",
            "--cpd-color-bg-accent-hovered",
            "--cpd-color-bg-accent-pressed",
            "--cpd-color-bg-critical-primary",
        )
    ),
)

_NON_TEXT_PAIRS: tuple[tuple[str, str], ...] = (
    ("strong-input-border-color", "timeline-background-color"),
    ("togglesw-off-color", "timeline-background-color"),
    ("icon-button-color", "timeline-background-color"),
    ("compound:--cpd-color-border-interactive-primary", "compound:--cpd-color-bg-canvas-default"),
    ("compound:--cpd-color-border-focused", "compound:--cpd-color-bg-canvas-default"),
    ("compound:--cpd-color-icon-primary", "compound:--cpd-color-bg-canvas-default"),
    ("compound:--cpd-color-icon-secondary", "compound:--cpd-color-bg-canvas-default"),
)

PAIR_SPECS: tuple[tuple[str, str, float], ...] = (
    *((fg, bg, BODY) for fg, bg in _BODY_PAIRS),
    *((fg, bg, SECONDARY) for fg, bg in _SECONDARY_PAIRS),
    *((fg, bg, NON_TEXT) for fg, bg in _NON_TEXT_PAIRS),
)
"""Every (foreground, background, minimum ratio) checked in every connec theme."""


@dataclass(frozen=True)
class Pair:
    """One foreground colour on one background in a theme, and the contrast it needs."""

    theme: str
    foreground: str
    background: str
    fg: str
    bg: str
    minimum: float

    @property
    def ratio(self) -> float:
        """The measured contrast ratio, from 1.0 to 21.0."""
        return contrast_ratio(self.fg, self.bg)

    @property
    def passes(self) -> bool:
        """Whether the pair meets its minimum."""
        return self.ratio >= self.minimum

    def describe(self) -> str:
        """One line naming the theme, both colours, the ratio and the minimum."""
        return (
            f"{self.theme}: {self.foreground} {self.fg} on {self.background} {self.bg} "
            f"is {self.ratio:.2f}:1, needs {self.minimum}:1"
        )


def parse_hex(colour: str) -> tuple[int, int, int]:
    """Read "#rrggbb" or "#rgb" into 0–255 red, green and blue."""
    if not isinstance(colour, str) or not _HEX.fullmatch(colour):
        raise ValueError(f"not a colour in #rrggbb or #rgb form: {colour!r}")
    digits = colour[1:]
    if len(digits) == 3:
        digits = "".join(digit * 2 for digit in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def _linear(channel: int) -> float:
    # WCAG 2.2 uses 0.04045, the sRGB standard's own threshold (WCAG 2.0 printed
    # 0.03928); for 8-bit colour both give the same result.
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG 2.2 relative luminance of an sRGB colour: 0.0 for black, 1.0 for white."""
    red, green, blue = (_linear(channel) for channel in parse_hex(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(fg: str, bg: str) -> float:
    """WCAG 2.2 contrast ratio of two colours, from 1.0 (none) to 21.0 (black on white).

    The ratio is symmetric: which colour is the text does not change it.
    """
    lighter, darker = sorted((relative_luminance(fg), relative_luminance(bg)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _resolve(theme: Theme, reference: str) -> list[tuple[str, str]]:
    """The (label, colour) entries a reference names; a list key gives one per entry."""
    if reference.startswith("compound:"):
        token = reference.removeprefix("compound:")
        source: dict[str, object] = dict(theme.compound)
        key = token
    else:
        source = dict(theme.colors)
        key = reference
    if key not in source:
        raise KeyError(f"theme {theme.name!r} has no colour {reference!r}")
    value = source[key]
    if isinstance(value, list):
        return [(f"{key}[{index}]", str(entry)) for index, entry in enumerate(value)]
    return [(key, str(value))]


def theme_pairs(theme: Theme) -> list[Pair]:
    """Every text/background pair of ``theme`` with the contrast it must meet.

    Raises ``KeyError`` naming the theme and the key when a colour the checks need is
    missing, so a theme cannot pass by leaving a colour out.
    """
    pairs: list[Pair] = []
    for fg_ref, bg_ref, minimum in PAIR_SPECS:
        for fg_label, fg in _resolve(theme, fg_ref):
            for bg_label, bg in _resolve(theme, bg_ref):
                pairs.append(Pair(theme.name, fg_label, bg_label, fg, bg, minimum))
    return pairs
