"""The help line in connec.toml: the number a letter prints, and when it is answered."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from connec.settings import load_settings


def test_a_municipality_gets_its_own_line_and_everyone_else_the_general_one(
    tmp_path: Path,
) -> None:
    (tmp_path / "connec.toml").write_text(
        '[[help.lines]]\nphone = "89 40 20 00"\nopens = "08:30"\ncloses = "14:00"\n'
        '[[help.lines]]\nphone = "+45 98 49 10 00"\nmunicipality = "Læsø"\n'
        'days = ["fri", "mon"]\n'
    )
    help = load_settings(tmp_path).help
    aarhus, laeso = help.line_for("Aarhus"), help.line_for("Læsø")
    assert aarhus is not None and aarhus.phone == "89 40 20 00"
    assert (aarhus.opens, aarhus.closes) == (time(8, 30), time(14))
    assert laeso is not None and laeso.phone == "+45 98 49 10 00"
    assert laeso.days == ["mon", "fri"]  # in the week's order


def test_without_lines_there_is_no_number_to_print(tmp_path: Path) -> None:
    assert load_settings(tmp_path).help.line_for("Aarhus") is None


@pytest.mark.parametrize(
    "line",
    [
        {"phone": "call us"},
        {"phone": "89 40 20 00", "municipality": "Aarhuus"},
        {"phone": "89 40 20 00", "opens": "15:00", "closes": "09:00"},
        {"phone": "89 40 20 00", "days": ["someday"]},
    ],
)
def test_a_line_that_cannot_be_printed_is_refused_at_start(tmp_path: Path, line: dict) -> None:
    with pytest.raises(ValidationError):
        load_settings(tmp_path, help={"lines": [line]})
