"""The long lists of check boxes and options on the profile forms, made quickly.

The sign-up and enrolment forms hold some 320 choices (181 interests, 98
municipalities, 21 times of the week, ...). Rendered one Jinja macro call at a time
they made a form post slow under load, so their markup is put together here from
pieces escaped once per list and kept; only "checked" and "selected" change per
request. The templates place these fragments inside their fieldsets, with legends,
hints and errors as usual (``macros.html``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import lru_cache

from markupsafe import Markup, escape

from connec.i18n import translations

Options = tuple[tuple[str, str], ...]


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


def choice_boxes(
    name: str,
    options: Sequence[tuple[str, str]],
    chosen: Collection[str] | str,
    kind: str = "checkbox",
) -> Markup:
    """Check boxes (or radio buttons) with their labels, the chosen ones ticked."""
    picked = {chosen} if isinstance(chosen, str) else set(chosen)
    return Markup(
        "".join(
            before + (" checked" if value in picked else "") + after
            for value, before, after in _box_parts(name, tuple(options), kind)
        )
    )


@lru_cache(maxsize=64)
def _option_parts(options: Options) -> tuple[tuple[str, str, str], ...]:
    return tuple(
        (value, f'<option value="{escape(value)}"', f">{escape(label)}</option>")
        for value, label in options
    )


def select_options(options: Sequence[tuple[str, str]], chosen: str) -> Markup:
    """The options of a select list, the chosen one selected."""
    return Markup(
        "".join(
            before + (" selected" if value == chosen else "") + after
            for value, before, after in _option_parts(tuple(options))
        )
    )


def interest_groups(
    groups: Sequence[tuple[str, str, Options]], chosen: Collection[str], lang: str
) -> Markup:
    """One folding group per interest group, open when something in it is ticked."""
    picked = set(chosen)
    catalog = translations(lang, "portal")
    html: list[str] = []
    for group_key, group_name, items in groups:
        ticked = sum(key in picked for key, _label in items)
        count = ""
        if ticked:
            text = catalog.ngettext("%(num)s chosen", "%(num)s chosen", ticked) % {"num": ticked}
            count = f' <span class="count">({escape(text)})</span>'
        html.append(
            f'<details class="interest-group" id="group-{escape(group_key)}"'
            f"{' open' if ticked else ''}><summary>{escape(group_name)}{count}</summary>"
            f'<div class="choices columns">{choice_boxes("interests", items, picked)}</div></details>'
        )
    return Markup("".join(html))


def week_grid_rows(
    days: Sequence[tuple[str, str]], parts: Sequence[tuple[str, str]], chosen: Collection[str]
) -> Markup:
    """The rows of the week's availability table: a check box per day and part of day."""
    picked = set(chosen)
    rows: list[str] = []
    for day, day_name in days:
        cells = []
        for part, part_name in parts:
            slot = f"{day}-{part}"
            cells.append(
                f'<td><label class="cell" for="field-availability-{slot}">'
                f'<input type="checkbox" id="field-availability-{slot}" name="availability" '
                f'value="{slot}"{" checked" if slot in picked else ""}>'
                f'<span class="visually-hidden">{escape(day_name)}, {escape(part_name.lower())}</span>'
                f'<span class="part-name" aria-hidden="true">{escape(part_name)}</span></label></td>'
            )
        rows.append(f'<tr><th scope="row">{escape(day_name)}</th>{"".join(cells)}</tr>')
    return Markup("".join(rows))


GLOBALS = {
    "choice_boxes": choice_boxes,
    "select_options": select_options,
    "interest_groups_html": interest_groups,
    "week_grid_rows": week_grid_rows,
}
"""What the templates may call."""
