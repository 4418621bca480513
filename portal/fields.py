"""The portal's form fields, each with its label, hint and error tied to it, and the
summary of a form's mistakes.

Every field shows its hint and its error next to it, joined to the field with
``aria-describedby`` and ``aria-invalid`` so that a screen reader reads them with
the field (WCAG 3.3.1, 3.3.2). The templates call these as they would macros::

    {{ text_field("email", _("E-mail"), form, errors, type="email", required=True) }}

They are Python rather than Jinja macros because the long forms have some 20 of
them: as macros they were most of the time a form post took under load. The long
lists of choices inside them come from :mod:`portal.widgets`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from portal.i18n import N_, _
from portal.widgets import Options, choice_boxes, interest_groups, select_options, week_grid_rows

Form = Mapping[str, Any]
Errors = Mapping[str, str]
_KEPT = 512
"""How many field frames each cache keeps: what surrounds the value a person typed.

A frame depends only on the template's words, the field's error (a message of
connec's own) and the language, never on what a person typed.
"""


def described_by(name: str, errors: Errors, hint: str | None, invalid: bool = True) -> Markup:
    """A field's ``aria-describedby`` (its hint and error) and ``aria-invalid``."""
    ids = [f"{name}-hint"] if hint else []
    if errors.get(name):
        ids.append(f"{name}-error")
    attributes = f' aria-describedby="{escape(" ".join(ids))}"' if ids else ""
    if invalid and errors.get(name):
        attributes += ' aria-invalid="true"'
    return Markup(attributes)


def hint_and_error(name: str, errors: Errors, hint: str | None, lang: str) -> Markup:
    """A field's hint, and its error in the person's language, with the ids they are known by."""
    html = []
    if hint:
        html.append(f'<p class="hint" id="{escape(name)}-hint">{escape(hint)}</p>')
    if message := errors.get(name):
        html.append(
            f'<p class="error-message" id="{escape(name)}-error">'
            f'<span class="visually-hidden">{escape(_(lang, "Error:"))}</span> '
            f"{escape(_(lang, message))}</p>"
        )
    return Markup("\n".join(html))


@pass_context
def error_summary(
    context: Context, errors: Errors, first_of: Mapping[str, str] | None = None
) -> Markup:
    """The form's mistakes at the top, each a link to its field.

    ``first_of`` names the element to go to for a field that is a group of inputs,
    where that is not ``field-<name>``.
    """
    if not errors:
        return Markup("")
    lang = context["lang"]
    links = "\n".join(
        f'<li><a href="#{escape((first_of or {}).get(name, f"field-{name}"))}">'
        f"{escape(_(lang, message))}</a></li>"
        for name, message in errors.items()
    )
    # autofocus: after a failed send the focus lands on the summary, not at the top.
    return Markup(
        '<div class="error-summary" role="alert" aria-labelledby="error-summary-title" '
        'tabindex="-1" autofocus>\n'
        f'<h2 id="error-summary-title">{escape(_(lang, "Please look at this first"))}</h2>\n'
        f"<ul>\n{links}\n</ul>\n</div>"
    )


def _field_class(base: str, name: str, errors: Errors) -> str:
    return f"{base} field-error" if errors.get(name) else base


def _label(name: str, label: str, required: bool, lang: str) -> str:
    optional = "" if required else f' <span class="optional">{escape(_(lang, "(optional)"))}</span>'
    return f'<label for="field-{escape(name)}">{escape(label)}{optional}</label>'


def _required(required: bool) -> str:
    return ' required aria-required="true"' if required else ""


def _field_start(
    name: str, label: str, hint: str | None, required: bool, errors: Errors, lang: str
) -> str:
    """A one-input field's opening: its box, its label, its hint and error."""
    return (
        f'<div class="{_field_class("field", name, errors)}">\n'
        f"{_label(name, label, required, lang)}\n"
        f"{hint_and_error(name, errors, hint, lang)}\n"
    )


def _fieldset_start(
    name: str, base: str, legend: str, hint: str | None, errors: Errors, lang: str
) -> str:
    """A group of inputs' opening: the fieldset (class ``base``), legend, hint and error."""
    return (
        f'<fieldset id="field-{escape(name)}" class="{_field_class(base, name, errors)}"'
        f"{described_by(name, errors, hint, invalid=False)}>\n"
        f"<legend>{escape(legend)}</legend>\n"
        f"{hint_and_error(name, errors, hint, lang)}\n"
    )


@lru_cache(maxsize=_KEPT)
def _text_frame(
    name: str,
    label: str,
    hint: str | None,
    type: str,
    autocomplete: str | None,
    inputmode: str | None,
    size_class: str,
    required: bool,
    error: str | None,
    lang: str,
) -> tuple[str, str]:
    errors = {name: error} if error else {}
    extra = f' autocomplete="{escape(autocomplete)}"' if autocomplete else ""
    if inputmode:
        extra += f' inputmode="{escape(inputmode)}"'
    before = (
        f"{_field_start(name, label, hint, required, errors, lang)}"
        f'<input id="field-{escape(name)}" name="{escape(name)}" type="{escape(type)}" '
        f'class="{escape(size_class)}" value="'
    )
    after = f'"{extra}{_required(required)}{described_by(name, errors, hint)}>\n</div>'
    return before, after


@pass_context
def text_field(
    context: Context,
    name: str,
    label: str,
    form: Form,
    errors: Errors,
    hint: str | None = None,
    type: str = "text",
    autocomplete: str | None = None,
    inputmode: str | None = None,
    size_class: str = "",
    required: bool = False,
    value: str | None = None,
) -> Markup:
    """A one-line text field (``value``: what to show instead of the form's)."""
    before, after = _text_frame(
        name,
        label,
        hint,
        type,
        autocomplete,
        inputmode,
        size_class,
        required,
        errors.get(name),
        context["lang"],
    )
    shown = value if value is not None else form.get(name, "")
    return Markup("".join((before, escape(shown), after)))


@lru_cache(maxsize=_KEPT)
def _textarea_frame(
    name: str, label: str, hint: str | None, required: bool, rows: int, error: str | None, lang: str
) -> tuple[str, str]:
    errors = {name: error} if error else {}
    before = (
        f"{_field_start(name, label, hint, required, errors, lang)}"
        f'<textarea id="field-{escape(name)}" name="{escape(name)}" rows="{escape(rows)}"'
        f"{_required(required)}{described_by(name, errors, hint)}>"
    )
    return before, "</textarea>\n</div>"


@pass_context
def textarea(
    context: Context,
    name: str,
    label: str,
    form: Form,
    errors: Errors,
    hint: str | None = None,
    required: bool = False,
    rows: int = 4,
) -> Markup:
    """A text field of several lines."""
    before, after = _textarea_frame(
        name, label, hint, required, rows, errors.get(name), context["lang"]
    )
    return Markup("".join((before, escape(form.get(name, "")), after)))


@lru_cache(maxsize=_KEPT)
def _select_frame(
    name: str, label: str, hint: str | None, required: bool, error: str | None, lang: str
) -> tuple[str, str]:
    errors = {name: error} if error else {}
    before = (
        f"{_field_start(name, label, hint, required, errors, lang)}"
        f'<select id="field-{escape(name)}" name="{escape(name)}"{_required(required)}'
        f"{described_by(name, errors, hint)}>\n"
    )
    return before, "\n</select>\n</div>"


@pass_context
def select_field(
    context: Context,
    name: str,
    label: str,
    options: Sequence[tuple[str, str]],
    form: Form,
    errors: Errors,
    hint: str | None = None,
    required: bool = False,
    default: str = "",
) -> Markup:
    """A select list, the form's value chosen."""
    before, after = _select_frame(name, label, hint, required, errors.get(name), context["lang"])
    return Markup("".join((before, select_options(options, form.get(name, default)), after)))


@lru_cache(maxsize=_KEPT)
def _group_frame(
    name: str, legend: str, hint: str | None, columns: bool, error: str | None, lang: str
) -> tuple[str, str]:
    errors = {name: error} if error else {}
    base = "field choices columns" if columns else "field choices"
    return _fieldset_start(name, base, legend, hint, errors, lang), "\n</fieldset>"


@pass_context
def choice_group(
    context: Context,
    name: str,
    legend: str,
    options: Sequence[tuple[str, str]],
    form: Form,
    errors: Errors,
    hint: str | None = None,
    type: str = "checkbox",
    default: str | list[str] | None = None,
    columns: bool = False,
) -> Markup:
    """Check boxes (or radio buttons, ``type="radio"``) under a legend."""
    if default is None:
        default = [] if type == "checkbox" else ""
    before, after = _group_frame(name, legend, hint, columns, errors.get(name), context["lang"])
    chosen = choice_boxes(name, options, form.get(name, default), type)
    return Markup("".join((before, chosen, after)))


@pass_context
def consent(context: Context, name: str, text: str, form: Form, errors: Errors) -> Markup:
    """The one check box a person must tick to agree."""
    checked = " checked" if form.get(name) == "yes" else ""
    return Markup(
        f'<div id="field-{escape(name)}" class="{_field_class("field consent", name, errors)}">\n'
        f"{hint_and_error(name, errors, None, context['lang'])}\n"
        f'<div class="choice">\n'
        f'<input type="checkbox" id="field-{escape(name)}-yes" name="{escape(name)}" value="yes"'
        f'{checked} required aria-required="true"{described_by(name, errors, None)}>\n'
        f'<label for="field-{escape(name)}-yes">{escape(text)}</label>\n</div>\n</div>'
    )


@pass_context
def availability_grid(
    context: Context,
    legend: str,
    hint: str,
    days: Sequence[tuple[str, str]],
    parts: Sequence[tuple[str, str]],
    form: Form,
    errors: Errors,
) -> Markup:
    """The week as a table: a check box for each day and part of the day."""
    headings = "".join(f'<th scope="col">{escape(part_name)}</th>' for _part, part_name in parts)
    return Markup(
        f"{_fieldset_start('availability', 'field', legend, hint, errors, context['lang'])}"
        f'<table class="week-grid">\n<thead>\n<tr><td></td>{headings}</tr>\n</thead>\n'
        f"<tbody>\n{week_grid_rows(days, parts, form.get('availability', []))}\n</tbody>\n"
        "</table>\n</fieldset>"
    )


@pass_context
def interests_picker(
    context: Context,
    legend: str,
    hint: str,
    words_label: str,
    words_hint: str,
    groups: Sequence[tuple[str, str, Options]],
    form: Form,
    errors: Errors,
) -> Markup:
    """The interests in folding groups, then a field for interests in one's own words."""
    lang = context["lang"]
    words = "interest_words"
    before, after = _textarea_frame(
        words, words_label, words_hint, False, 3, errors.get(words), lang
    )
    return Markup(
        f"{_fieldset_start('interests', 'field', legend, hint, errors, lang)}"
        f"{interest_groups(groups, form.get('interests', []), lang)}\n"
        f"{before}{escape(form.get(words, ''))}{after}\n</fieldset>"
    )


_DATE_PARTS = (
    ("birth_day", N_("Day"), "digits-2", "bday-day"),
    ("birth_month", N_("Month"), "digits-2", "bday-month"),
    ("birth_year", N_("Year"), "digits-4", "bday-year"),
)


@pass_context
def birth_date(context: Context, legend: str, hint: str, form: Form, errors: Errors) -> Markup:
    """Day, month and year of birth as three short fields, checked together."""
    lang = context["lang"]
    invalid = ' aria-invalid="true"' if errors.get("birth_date") else ""
    parts = "\n".join(
        f'<div><label for="field-{name}">{escape(_(lang, word))}</label>\n'
        f'<input id="field-{name}" name="{name}" class="{size}" inputmode="numeric" '
        f'autocomplete="{autocomplete}" value="{escape(form.get(name, ""))}"{invalid}></div>'
        for name, word, size, autocomplete in _DATE_PARTS
    )
    return Markup(
        f"{_fieldset_start('birth_date', 'field date', legend, hint, errors, lang)}"
        f'<div class="date-parts">\n{parts}\n</div>\n</fieldset>'
    )


def hidden_answers(form: Form, skip: frozenset[str] | set[str]) -> Markup:
    """The form's answers as hidden fields, except those named in ``skip``.

    A step of a long form carries the other steps' answers this way, so going back
    and forth keeps them without the server keeping anything.
    """
    fields = []
    for name, value in form.items():
        if name in skip:
            continue
        for one_value in value if isinstance(value, list) else [value]:
            fields.append(
                f'<input type="hidden" name="{escape(name)}" value="{escape(one_value)}">'
            )
    return Markup("\n".join(fields))


GLOBALS = {
    "error_summary": error_summary,
    "text_field": text_field,
    "textarea": textarea,
    "select_field": select_field,
    "choice_group": choice_group,
    "consent": consent,
    "availability_grid": availability_grid,
    "interests_picker": interests_picker,
    "birth_date": birth_date,
    "hidden_answers": hidden_answers,
}
"""What the templates may call."""
