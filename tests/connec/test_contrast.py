"""WCAG 2.2 contrast, and every text colour of both connec themes against its background."""

from __future__ import annotations

import pytest

from connec.contrast import (
    BODY,
    NON_TEXT,
    SECONDARY,
    contrast_ratio,
    relative_luminance,
    theme_pairs,
)
from connec.element import Theme, load_themes


def test_black_on_white_is_21_and_a_colour_on_itself_is_1() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#ffffff", "#000000") == pytest.approx(21.0)
    assert contrast_ratio("#a84300", "#a84300") == pytest.approx(1.0)


def test_luminance_runs_from_black_to_white() -> None:
    assert relative_luminance("#000") == 0.0
    assert relative_luminance("#fff") == pytest.approx(1.0)
    # Green weighs most, blue least (0.7152, 0.2126, 0.0722).
    assert relative_luminance("#00ff00") == pytest.approx(0.7152)
    assert relative_luminance("#ff0000") == pytest.approx(0.2126)
    assert relative_luminance("#0000ff") == pytest.approx(0.0722)


@pytest.mark.parametrize(
    ("fg", "bg", "expected"),
    [
        # Well-known values: #767676 is the lightest grey that passes 4.5:1 on white.
        ("#767676", "#ffffff", 4.54),
        ("#777777", "#ffffff", 4.48),
        ("#595959", "#ffffff", 7.0),
        ("#ff0000", "#ffffff", 4.0),
        ("#0000ff", "#ffffff", 8.59),
        ("#808080", "#000000", 5.32),
    ],
)
def test_known_ratios(fg: str, bg: str, expected: float) -> None:
    assert contrast_ratio(fg, bg) == pytest.approx(expected, abs=0.01)


def test_short_and_long_hex_agree_and_case_does_not_matter() -> None:
    assert contrast_ratio("#fa0", "#000") == contrast_ratio("#FFAA00", "#000000")


@pytest.mark.parametrize("colour", ["red", "#12345", "#1234567", "123456", "#ggg", ""])
def test_anything_but_hex_is_refused(colour: str) -> None:
    with pytest.raises(ValueError, match="not a colour"):
        contrast_ratio(colour, "#ffffff")


@pytest.mark.parametrize("theme", load_themes(), ids=lambda theme: theme.name)
def test_every_pair_in_the_theme_is_readable(theme: Theme) -> None:
    failures = [pair.describe() for pair in theme_pairs(theme) if not pair.passes]
    assert not failures, "too little contrast:\n" + "\n".join(failures)


@pytest.mark.parametrize("theme", load_themes(), ids=lambda theme: theme.name)
def test_body_secondary_and_control_colours_are_all_checked(theme: Theme) -> None:
    minimums = {pair.minimum for pair in theme_pairs(theme)}
    assert minimums == {BODY, SECONDARY, NON_TEXT}
    checked = {pair.foreground for pair in theme_pairs(theme) if pair.minimum == BODY}
    assert {"timeline-text-color", "roomlist-text-color"} <= checked


def test_a_failing_pair_names_the_theme_and_both_colours() -> None:
    pale = Theme(
        name="Pale",
        is_dark=False,
        colors={"timeline-text-color": "#999999", "timeline-background-color": "#ffffff"},
    )
    with pytest.raises(KeyError, match="Pale"):
        theme_pairs(pale)
    orange = next(theme for theme in load_themes() if theme.name.endswith("Orange"))
    washed = Theme(
        name="Washed out",
        is_dark=False,
        colors={**orange.colors, "timeline-text-color": "#999999"},
        compound=orange.compound,
    )
    failing = [pair for pair in theme_pairs(washed) if not pair.passes]
    assert failing
    message = failing[0].describe()
    assert message.startswith("Washed out: timeline-text-color #999999 on ")
    assert "needs 7.0:1" in message
