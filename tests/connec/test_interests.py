"""The interest taxonomy, and what connec understands of people's own words."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from connec.interests import (
    TAXONOMY_PATH,
    InterestSet,
    all_interests,
    groups,
    interest_by_name,
    interests_from_keys,
    load_taxonomy,
    personal_stem,
    taxonomy,
    understand_interests,
)


def _phrase(text: str) -> tuple[str, ...]:
    return tuple(word.casefold() for word in re.findall(r"\w+", text))


# ---------------------------------------------------------------- the taxonomy itself


def test_taxonomy_has_at_least_a_hundred_interests_in_many_groups() -> None:
    assert len(all_interests()) >= 100
    assert len(groups()) >= 15


def test_every_interest_has_danish_and_english_names_and_a_real_group() -> None:
    group_keys = {group.key for group in groups()}
    for interest in all_interests():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", interest.key), interest.key
        assert interest.da.strip() and interest.en.strip(), interest.key
        assert interest.group in group_keys, interest.key


def test_every_group_has_danish_and_english_names_and_interests() -> None:
    used = {interest.group for interest in all_interests()}
    for group in groups():
        assert group.da.strip() and group.en.strip()
        assert group.key in used, f"group {group.key} has no interests"


def test_no_name_or_synonym_belongs_to_two_interests() -> None:
    raw = tomllib.loads(TAXONOMY_PATH.read_text(encoding="utf-8"))["interests"]
    owner: dict[tuple[str, ...], str] = {}
    for key, entry in raw.items():
        phrases = [key, entry["da"], entry["en"], *entry.get("synonyms_da", [])]
        for phrase in [*phrases, *entry.get("synonyms_en", [])]:
            assert owner.setdefault(_phrase(phrase), key) == key, (
                f"{phrase!r} is in both {owner[_phrase(phrase)]} and {key}"
            )


def test_every_name_and_synonym_is_understood_as_its_own_interest() -> None:
    for interest in all_interests():
        for phrase in interest.phrases():
            understood = understand_interests(phrase)
            assert understood.keys == {interest.key}, (phrase, understood)
            assert understood.personal == (), (phrase, understood)


def test_a_taxonomy_with_a_word_in_two_interests_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "interests.toml"
    path.write_text(
        """
[groups.musik]
da = "musik"
en = "music"

[interests.jazz]
group = "musik"
da = "jazz"
en = "jazz"
synonyms_da = ["swing"]

[interests.dancing]
group = "musik"
da = "dans"
en = "dancing"
synonyms_en = ["Swing"]
""",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"(?i)swing.*jazz.*dancing"):
        load_taxonomy(path)


def test_an_interest_in_an_unknown_group_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "interests.toml"
    path.write_text('[interests.jazz]\ngroup = "nope"\nda = "jazz"\nen = "jazz"\n')
    with pytest.raises(ValueError, match="unknown group"):
        load_taxonomy(path)


def test_the_taxonomy_is_read_once() -> None:
    assert taxonomy() is taxonomy()


def test_names_read_well_in_sentences_and_labels() -> None:
    gardening = interest_by_name("gardening")
    assert gardening is not None
    assert gardening.name("da") == "havearbejde"
    assert gardening.name("en") == "gardening"
    assert gardening.label("da") == "Havearbejde"


# ---------------------------------------------------------------- looking up by name


def test_an_import_can_name_an_interest_by_key_danish_or_english_name() -> None:
    for name in ("classical_music", "klassisk musik", "Classical Music", "  KLASSISK   musik "):
        found = interest_by_name(name)
        assert found is not None and found.key == "classical_music", name


def test_an_unknown_name_is_not_guessed() -> None:
    assert interest_by_name("kvantefysik for katte") is None
    assert interest_by_name("") is None


def test_interests_from_keys_refuses_unknown_keys() -> None:
    assert interests_from_keys(["jazz", "gardening"]).keys == {"jazz", "gardening"}
    with pytest.raises(KeyError, match="no_such_thing"):
        interests_from_keys(["jazz", "no_such_thing"])


# ---------------------------------------------------------------- people's own words


def test_min_kolonihave_is_gardening() -> None:
    understood = understand_interests("min kolonihave")
    assert understood.keys == {"gardening"}
    assert understood.personal == ()


@pytest.mark.parametrize(
    "words",
    ["havearbejde", "Havearbejde", "haven", "kolonihaven", "køkkenhave", "gardening", "Garden"],
)
def test_gardening_in_many_words(words: str) -> None:
    assert understand_interests(words).keys == {"gardening"}


def test_case_does_not_matter() -> None:
    assert understand_interests("Jazz").keys == {"jazz"}
    assert understand_interests("JAZZ").keys == {"jazz"}


def test_the_garden_and_the_sea_are_not_mixed_up() -> None:
    # Danish "haven" (the garden) and "havet" (the sea) share the stem "hav".
    assert understand_interests("haven").keys == {"gardening"}
    assert understand_interests("havet").keys == {"sea_and_coast"}


def test_inflections_are_understood_through_stemming() -> None:
    assert understand_interests("strikker").keys == {"knitting"}
    assert understand_interests("krimierne").keys == {"crime_novels"}
    assert understand_interests("gardens").keys == {"gardening"}


def test_a_sentence_of_interests_is_split_on_commas_and_og() -> None:
    understood = understand_interests(
        "min kolonihave, gamle Morris Minor-biler, Kim Larsen, jazz og at strikke"
    )
    assert understood.keys == {"gardening", "cars", "jazz", "knitting"}
    assert [p.text for p in understood.personal] == ["gamle Morris Minor-biler", "Kim Larsen"]


def test_english_and_semicolons_too() -> None:
    understood = understand_interests("I love my dog; crosswords and the Beatles")
    assert understood.keys == {"dogs", "crosswords"}
    assert [p.text for p in understood.personal] == ["the Beatles"]


def test_phrases_with_og_in_them_stay_whole() -> None:
    understood = understand_interests("kryds og tværs og rock and roll")
    assert understood.keys == {"crosswords", "rock"}
    assert understood.personal == ()


def test_personal_interests_keep_the_persons_own_words() -> None:
    understood = understand_interests("Kim Larsen, Simon & Garfunkel")
    assert understood.keys == frozenset()
    assert [p.text for p in understood.personal] == ["Kim Larsen", "Simon & Garfunkel"]


def test_personal_interests_compare_by_stem_not_spelling() -> None:
    karen = understand_interests("kim larsens sange")
    anna = understand_interests("Kim Larsen")
    assert karen.stems == anna.stems == {personal_stem("Kim Larsen")}
    # Karen's words are kept whole for showing back, and her songs are understood.
    assert karen.personal[0].text == "kim larsens sange"
    assert karen.keys == {"danish_songs"}


def test_what_the_taxonomy_places_is_not_needed_to_match_own_words() -> None:
    # "biler" is understood as cars; "Morris Minor" is what remains to compare.
    assert understand_interests("gamle Morris Minor-biler").stems == (
        understand_interests("Morris Minor").stems
    )


def test_filler_words_alone_are_not_interests() -> None:
    assert not understand_interests("jeg kan godt lide, og, min")
    assert not understand_interests("")
    assert not understand_interests([" ", ",,,"])


def test_possessives_are_dropped_from_the_words_shown_back() -> None:
    understood = understand_interests("min Morris Minor")
    assert [p.text for p in understood.personal] == ["Morris Minor"]


def test_a_list_of_words_is_understood_as_one_set_without_repeats() -> None:
    understood = understand_interests(["jazz", "Kim Larsen", "Jazz, kim larsen", "gardening"])
    assert understood.keys == {"jazz", "gardening"}
    assert [p.text for p in understood.personal] == ["Kim Larsen"]


def test_ticked_interests_and_free_text_combine() -> None:
    combined = interests_from_keys(["jazz"]) | understand_interests("Kim Larsen, jazz")
    assert combined.keys == {"jazz"}
    assert combined.text_for(personal_stem("Kim Larsen")) == "Kim Larsen"
    assert InterestSet() | InterestSet() == InterestSet()
