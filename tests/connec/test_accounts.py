"""User names people can type, and first passwords they can read off a letter."""

from __future__ import annotations

import re

from connec.accounts import (
    PASSWORD_ALPHABET,
    first_password,
    localpart_base,
    localpart_candidates,
)


def test_user_names_come_from_first_and_last_name_in_plain_letters() -> None:
    assert localpart_base("Karen Hansen", "borger") == "karen.hansen"
    assert localpart_base("Søren Ågård Ørsted", "borger") == "soeren.oersted"
    assert localpart_base("  Zoë   Müller-Lüdenscheidt ", "borger") == "zoe.ludenscheidt"
    assert localpart_base("Mette", "borger") == "mette"
    assert localpart_base("محمد", "borger") == "borger"


def test_taken_names_get_a_number() -> None:
    candidates = list(localpart_candidates("Karen Hansen", "borger"))
    assert candidates[:3] == ["karen.hansen", "karen.hansen2", "karen.hansen3"]
    assert len(set(candidates)) == len(candidates)


def test_first_passwords_are_four_groups_of_unmistakable_characters() -> None:
    passwords = {first_password() for _ in range(200)}
    assert len(passwords) == 200
    for password in passwords:
        assert re.fullmatch(
            rf"[{PASSWORD_ALPHABET}]{{4}}(-[{PASSWORD_ALPHABET}]{{4}}){{3}}", password
        )
    assert not set("01ilo") & set(PASSWORD_ALPHABET)
