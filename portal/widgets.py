"""The long lists of choices on the profile forms, made quickly.

The sign-up and enrolment forms hold some 320 choices (181 interests, 98
municipalities, 21 times of the week, ...). Their markup is put together here
from pieces escaped once and kept, and a list (or a group of interests, or a row
of the week) is kept whole for each set of ticks it has been asked for: a form is
mostly the same few lists, unticked. The fields around them are in
:mod:`portal.fields`.

Only choices are kept, never what a person typed: the keys of the caches are the
option lists and the ticked values *that are among the options*. A value a post
made up is dropped before it reaches a cache, so a cache's entries are bounded by
what is valid (each at most one rendering of a known list), not by what is sent.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import cached_property, lru_cache
from typing import Any

from markupsafe import Markup, escape

from connec.i18n import translations

_KEPT = 1024
"""How many renderings each cache keeps."""


class Kept(tuple[Any, ...]):
    """A tuple that works out its hash once.

    The long option lists are cache keys at every render; a plain tuple hashes all
    its items again each time. :mod:`portal.choices` hands out its lists as these.
    """

    @cached_property
    def _hash(self) -> int:
        return tuple.__hash__(self)

    def __hash__(self) -> int:
        return self._hash


Options = tuple[tuple[str, str], ...]


def _kept(options: Sequence[tuple[str, str]]) -> Options:
    """Options as a cache key (templates may pass lists)."""
    return options if isinstance(options, Kept) else Kept((v, label) for v, label in options)


@lru_cache(maxsize=256)
def _values(options: Options) -> frozenset[str]:
    return frozenset(value for value, _label in options)


def _ticked(chosen: Collection[str] | str, valid: frozenset[str]) -> frozenset[str]:
    """The chosen values that are options; anything else a post made up is dropped."""
    values = (chosen,) if isinstance(chosen, str) else chosen
    return frozenset(value for value in values if isinstance(value, str) and value in valid)


@lru_cache(maxsize=256)
def _box_parts(name: str, options: Options, kind: str) -> tuple[tuple[str, str, str], ...]:
    parts = []
    for value, label in options:
        ident = escape(f"field-{name}-{value}")
        before = (
            f'<div class="choice"><input type="{kind}" id="{ident}" name="{escape(name)}" '
            f'value="{escape(value)}"'
        )
        after = f'><label for="{ident}">{escape(label)}</label></div>'
        parts.append((value, before, after))
    return tuple(parts)


@lru_cache(maxsize=_KEPT)
def _boxes(name: str, options: Options, picked: frozenset[str], kind: str) -> Markup:
    return Markup(
        "".join(
            before + (" checked" if value in picked else "") + after
            for value, before, after in _box_parts(name, options, kind)
        )
    )


def choice_boxes(
    name: str,
    options: Sequence[tuple[str, str]],
    chosen: Collection[str] | str,
    kind: str = "checkbox",
) -> Markup:
    """Check boxes (or radio buttons) with their labels, the chosen ones ticked."""
    kept = _kept(options)
    return _boxes(name, kept, _ticked(chosen, _values(kept)), kind)


@lru_cache(maxsize=64)
def _option_parts(options: Options) -> tuple[tuple[str, str, str], ...]:
    return tuple(
        (value, f'<option value="{escape(value)}"', f">{escape(label)}</option>")
        for value, label in options
    )


@lru_cache(maxsize=_KEPT)
def _options(options: Options, chosen: str) -> Markup:
    return Markup(
        "".join(
            before + (" selected" if value == chosen else "") + after
            for value, before, after in _option_parts(options)
        )
    )


def select_options(options: Sequence[tuple[str, str]], chosen: object) -> Markup:
    """The options of a select list, the chosen one selected (a made-up value: none)."""
    kept = _kept(options)
    valid = isinstance(chosen, str) and chosen in _values(kept)
    return _options(kept, chosen if valid else "")


@lru_cache(maxsize=_KEPT)
def _interest_group(
    group_key: str, group_name: str, items: Options, ticked: frozenset[str], lang: str
) -> Markup:
    count = ""
    if ticked:
        text = translations(lang, "portal").ngettext(
            "%(num)s chosen", "%(num)s chosen", len(ticked)
        ) % {"num": len(ticked)}
        count = f' <span class="count">({escape(text)})</span>'
    return Markup(
        f'<details class="interest-group" id="group-{escape(group_key)}"'
        f"{' open' if ticked else ''}><summary>{escape(group_name)}{count}</summary>"
        f'<div class="choices columns">{_boxes("interests", items, ticked, "checkbox")}</div>'
        "</details>"
    )


@lru_cache(maxsize=16)
def _group_of(groups: tuple[tuple[str, str, Options], ...]) -> dict[str, str]:
    return {key: group_key for group_key, _name, items in groups for key, _label in items}


def interest_groups(
    groups: Sequence[tuple[str, str, Options]], chosen: Collection[str], lang: str
) -> Markup:
    """One folding group per interest group, open when something in it is ticked."""
    every_group = groups if isinstance(groups, Kept) else Kept(groups)
    of_group = _group_of(every_group)
    return _all_groups(every_group, frozenset(key for key in chosen if key in of_group), lang)


@lru_cache(maxsize=_KEPT)
def _all_groups(
    groups: tuple[tuple[str, str, Options], ...], picked: frozenset[str], lang: str
) -> Markup:
    of_group = _group_of(groups)
    ticked: dict[str, set[str]] = {}
    for key in picked:
        ticked.setdefault(of_group[key], set()).add(key)
    return Markup(
        "".join(
            _interest_group(key, name, _kept(items), frozenset(ticked.get(key, ())), lang)
            for key, name, items in groups
        )
    )


@lru_cache(maxsize=_KEPT)
def _week_row(day: str, day_name: str, parts: Options, ticked: frozenset[str]) -> str:
    cells = []
    for part, part_name in parts:
        slot = f"{day}-{part}"
        cells.append(
            f'<td><label class="cell" for="field-availability-{slot}">'
            f'<input type="checkbox" id="field-availability-{slot}" name="availability" '
            f'value="{slot}"{" checked" if part in ticked else ""}>'
            f'<span class="visually-hidden">{escape(day_name)}, {escape(part_name.lower())}</span>'
            f'<span class="part-name" aria-hidden="true">{escape(part_name)}</span></label></td>'
        )
    return f'<tr><th scope="row">{escape(day_name)}</th>{"".join(cells)}</tr>'


def week_grid_rows(
    days: Sequence[tuple[str, str]], parts: Sequence[tuple[str, str]], chosen: Collection[str]
) -> Markup:
    """The rows of the week's availability table: a check box per day and part of day."""
    kept_days, kept_parts = _kept(days), _kept(parts)
    return _week_grid(kept_days, kept_parts, _ticked(chosen, _slots(kept_days, kept_parts)))


@lru_cache(maxsize=16)
def _slots(days: Options, parts: Options) -> frozenset[str]:
    return frozenset(f"{day}-{part}" for day, _d in days for part, _p in parts)


@lru_cache(maxsize=_KEPT)
def _week_grid(days: Options, parts: Options, picked: frozenset[str]) -> Markup:
    return Markup(
        "".join(
            _week_row(
                day,
                day_name,
                parts,
                frozenset(part for part, _name in parts if f"{day}-{part}" in picked),
            )
            for day, day_name in days
        )
    )
