"""Why a pair was matched, in the words the two people read."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

from bots.matchmaker.reasons import DOMAIN, explain
from bots.matchmaker.scoring import InterestWeights, Profile, Reason, score
from connec.i18n import LOCALE_DIR
from connec.interests import understand_interests

JAZZ_AND_GARDENING = (
    Reason("shared_interests", ("jazz", "gardening")),
    Reason("shared_time", ("tue-am",)),
    Reason("shared_mode", ("chat",)),
    Reason("shared_language", ("da",)),
)


def test_danish_is_the_default() -> None:
    assert explain(JAZZ_AND_GARDENING) == (
        "I kan begge lide jazz og havearbejde, og I har begge tid tirsdag formiddag."
    )
    assert explain(JAZZ_AND_GARDENING, "da-DK") == explain(JAZZ_AND_GARDENING)


def test_in_english() -> None:
    assert explain(JAZZ_AND_GARDENING, "en") == (
        "You both like jazz and gardening, and you both have time on Tuesday mornings."
    )


def test_own_words_are_quoted_as_written() -> None:
    reasons = [
        Reason("shared_interests", ("jazz",)),
        Reason("shared_personal_interests", ("gamle Morris Minor-biler",)),
    ]
    assert explain(reasons) == "I kan begge lide gamle Morris Minor-biler og jazz."
    assert explain(reasons, "en") == "You both like gamle Morris Minor-biler and jazz."


def test_interests_alone_and_time_alone() -> None:
    assert explain([Reason("shared_interests", ("knitting",))]) == "I kan begge lide strikning."
    assert explain([Reason("shared_time", ("sat-eve", "sun-am"))], "en") == (
        "You both have time on Saturday evenings and Sunday mornings."
    )


def test_long_lists_are_cut_short_and_counted() -> None:
    reasons = [
        Reason("shared_interests", ("jazz", "gardening", "knitting", "chess", "dogs", "cats")),
        Reason("shared_time", ("mon-am", "tue-pm", "wed-eve", "sun-eve")),
    ]
    assert explain(reasons) == (
        "I kan begge lide jazz, havearbejde, strikning og 3 andre ting, og I har begge tid "
        "mandag formiddag, tirsdag eftermiddag og 2 andre tidspunkter."
    )
    assert explain(reasons, "en") == (
        "You both like jazz, gardening, knitting, and 3 other things, and you both have time "
        "on Monday mornings, Tuesday afternoons, and 2 other times."
    )


def test_related_interests_when_nothing_is_shared_exactly() -> None:
    reasons = [Reason("related_interests", ("musik",)), Reason("shared_time", ("fri-pm",))]
    assert explain(reasons) == (
        "I er begge interesserede i musik og dans, og I har begge tid fredag eftermiddag."
    )
    assert explain(reasons[:1], "en") == "You are both interested in music and dance."


def test_calls_languages_and_place_get_their_own_sentences() -> None:
    reasons = [
        Reason("shared_interests", ("chess",)),
        Reason("shared_mode", ("chat", "voice", "video")),
        Reason("shared_language", ("da", "ar", "en")),
        Reason("same_municipality", ("Odense",)),
    ]
    assert explain(reasons) == (
        "I kan begge lide skak. I kan begge bruge taleopkald og videoopkald. "
        "I taler begge arabisk. I bor begge i Odense."
    )
    assert explain(reasons, "en") == (
        "You both like chess. You can both use voice calls and video calls. "
        "You both speak Arabic. You both live in Odense."
    )


def test_danish_and_english_go_without_saying_but_english_alone_does_not() -> None:
    both = [Reason("shared_interests", ("chess",)), Reason("shared_language", ("da", "en"))]
    assert explain(both) == "I kan begge lide skak."
    english_only = [Reason("shared_interests", ("chess",)), Reason("shared_language", ("en",))]
    assert explain(english_only) == "I kan begge lide skak. I taler begge engelsk."


def test_with_nothing_to_say_there_is_still_a_kind_sentence() -> None:
    assert explain([]) == "Vi tror, at I to vil få glæde af at snakke sammen."
    assert explain([], "en") == "We think the two of you would enjoy talking together."


def test_a_key_no_longer_in_the_taxonomy_does_not_break_the_sentence() -> None:
    assert explain([Reason("shared_interests", ("retired_key",))], "en") == (
        "You both like retired_key."
    )


def test_from_a_real_score_to_a_sentence() -> None:
    karen = Profile(
        1,
        "citizen",
        interests=understand_interests("jazz, min kolonihave, Kim Larsen"),
        availability=frozenset({"tue-am"}),
    )
    anna = Profile(
        2,
        "volunteer",
        interests=understand_interests("Jazz, havearbejde, kim larsen"),
        availability=frozenset({"tue-am", "wed-am"}),
        contact_modes=frozenset({"chat"}),
    )
    result = score(karen, anna, weights=InterestWeights(), today_year=2025)
    assert result is not None
    assert explain(result.reasons) == (
        "I kan begge lide Kim Larsen, havearbejde og jazz, og I har begge tid tirsdag formiddag."
    )


def test_the_danish_catalog_is_valid_and_complete() -> None:
    path = Path(LOCALE_DIR) / "da" / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale="da", domain=DOMAIN)
    assert '"Language: da\\n"' in path.read_text(encoding="utf-8")
    assert catalog.plural_forms == "nplurals=2; plural=(n != 1);"
    assert len(catalog) > 0
    for message in catalog:
        if message.id:
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            assert all(strings), f"untranslated: {message.id!r}"
