"""Why a pair was matched, in words the two people read.

Turns the structured reasons of :func:`bots.matchmaker.scoring.score` into one or
two short sentences in Danish (the default) or English, e.g. "I kan begge lide
jazz og havearbejde, og I har begge tid tirsdag formiddag." Interests from the
taxonomy are named in the reader's language; personal interests are quoted in
the words the person used. The sentences live in the ``matchmaker_reasons``
gettext catalog (msgids English, Danish in ``connec/locale/da``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from babel import Locale
from babel.lists import format_list

from bots.matchmaker.scoring import Reason, ReasonKind
from connec.i18n import gettext, ngettext, normalise_language
from connec.interests import interest, taxonomy

DOMAIN = "matchmaker_reasons"
# More than this many things in one breath is a list, not a reason.
MOST_THINGS_NAMED = 4
MOST_TIMES_NAMED = 3


def _(lang: str, message: str, **values: object) -> str:
    return gettext(lang, DOMAIN, message, **values)


def _slot_phrase(lang: str, slot: str) -> str:
    # Whole phrases rather than day + part, because word order and number differ:
    # "Tuesday mornings" is "tirsdag formiddag".
    phrases = {
        "mon-am": _(lang, "Monday mornings"),
        "mon-pm": _(lang, "Monday afternoons"),
        "mon-eve": _(lang, "Monday evenings"),
        "tue-am": _(lang, "Tuesday mornings"),
        "tue-pm": _(lang, "Tuesday afternoons"),
        "tue-eve": _(lang, "Tuesday evenings"),
        "wed-am": _(lang, "Wednesday mornings"),
        "wed-pm": _(lang, "Wednesday afternoons"),
        "wed-eve": _(lang, "Wednesday evenings"),
        "thu-am": _(lang, "Thursday mornings"),
        "thu-pm": _(lang, "Thursday afternoons"),
        "thu-eve": _(lang, "Thursday evenings"),
        "fri-am": _(lang, "Friday mornings"),
        "fri-pm": _(lang, "Friday afternoons"),
        "fri-eve": _(lang, "Friday evenings"),
        "sat-am": _(lang, "Saturday mornings"),
        "sat-pm": _(lang, "Saturday afternoons"),
        "sat-eve": _(lang, "Saturday evenings"),
        "sun-am": _(lang, "Sunday mornings"),
        "sun-pm": _(lang, "Sunday afternoons"),
        "sun-eve": _(lang, "Sunday evenings"),
    }
    return phrases.get(slot, slot)


def _mode_phrase(lang: str, mode: str) -> str:
    phrases = {"voice": _(lang, "voice calls"), "video": _(lang, "video calls")}
    return phrases.get(mode, mode)


def _listed(
    lang: str, items: Sequence[str], most: int, rest_singular: str, rest_plural: str
) -> str:
    """``items`` as "a, b og c", naming at most ``most`` and counting the rest."""
    if len(items) > most:
        named = most - 1
        rest = ngettext(lang, DOMAIN, rest_singular, rest_plural, len(items) - named)
        items = [*items[:named], rest]
    return format_list(list(items), locale=lang)


def explain(reasons: Iterable[Reason], lang: str | None = None) -> str:
    """The reasons a pair was matched, as sentences in ``lang`` (Danish by default).

    Leaves out what goes without saying: chat (everyone can write), and Danish
    or English as a shared language when the pair also shares Danish.
    """
    lang = normalise_language(lang)
    by_kind = {reason.kind: reason.data for reason in reasons}

    things = [*by_kind.get(ReasonKind.SHARED_PERSONAL_INTERESTS, ())] + [
        found.name(lang) if (found := interest(key)) else key
        for key in by_kind.get(ReasonKind.SHARED_INTERESTS, ())
    ]
    groups = taxonomy().groups
    related = [
        groups[key].name(lang) if key in groups else key
        for key in by_kind.get(ReasonKind.RELATED_INTERESTS, ())
    ]
    slots = list(by_kind.get(ReasonKind.SHARED_TIME, ()))
    times = _listed(
        lang,
        [_slot_phrase(lang, slot) for slot in slots],
        MOST_TIMES_NAMED,
        "{n} other time",
        "{n} other times",
    )

    sentences: list[str] = []
    if things:
        listed = _listed(lang, things, MOST_THINGS_NAMED, "{n} other thing", "{n} other things")
        if slots:
            sentences.append(
                _(
                    lang,
                    "You both like {things}, and you both have time on {times}.",
                    things=listed,
                    times=times,
                )
            )
        else:
            sentences.append(_(lang, "You both like {things}.", things=listed))
    elif related:
        listed = format_list(related, locale=lang)
        if slots:
            sentences.append(
                _(
                    lang,
                    "You are both interested in {groups}, and you both have time on {times}.",
                    groups=listed,
                    times=times,
                )
            )
        else:
            sentences.append(_(lang, "You are both interested in {groups}.", groups=listed))
    elif slots:
        sentences.append(_(lang, "You both have time on {times}.", times=times))

    calls = [mode for mode in by_kind.get(ReasonKind.SHARED_MODE, ()) if mode != "chat"]
    if calls:
        modes = format_list([_mode_phrase(lang, mode) for mode in calls], locale=lang)
        sentences.append(_(lang, "You can both use {modes}.", modes=modes))

    languages = set(by_kind.get(ReasonKind.SHARED_LANGUAGE, ()))
    if "da" in languages:
        languages -= {"da", "en"}
    if languages:
        names = Locale.parse(lang).languages
        spoken = format_list([names.get(code, code) for code in sorted(languages)], locale=lang)
        sentences.append(_(lang, "You both speak {languages}.", languages=spoken))

    for municipality in by_kind.get(ReasonKind.SAME_MUNICIPALITY, ())[:1]:
        sentences.append(_(lang, "You both live in {municipality}.", municipality=municipality))

    if not sentences:
        return _(lang, "We think the two of you would enjoy talking together.")
    return " ".join(sentences)


def reasons_as_json(reasons: Iterable[Reason]) -> list[dict[str, object]]:
    """Reasons as stored with a proposal (plain JSON)."""
    return [{"kind": str(reason.kind), "data": list(reason.data)} for reason in reasons]
