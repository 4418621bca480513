"""The command line: every command the README names is there, with its own help."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connec.cli import build_parser

README = Path(__file__).parents[2] / "README.md"


def readme_commands() -> set[tuple[str, ...]]:
    """The commands the README's table names, as words: ("demo", "data"), ("bench", ...)."""
    found: set[tuple[str, ...]] = set()
    for line in README.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `connec "):
            continue
        first_cell = line.split(" | ")[0]
        for command in re.findall(r"`connec ([a-z][a-z -]*?)(?: [A-Z\[-]|`)", first_cell):
            found.add(tuple(command.split()))
    return found


def test_the_parser_builds() -> None:
    # Two parts adding a command of the same name would stop every command.
    build_parser()


@pytest.mark.parametrize("words", sorted(readme_commands()), ids=" ".join)
def test_each_command_the_readme_names_is_understood(words: tuple[str, ...]) -> None:
    parser = build_parser()
    with pytest.raises(SystemExit) as ended:
        parser.parse_args([*words, "--help"])
    assert ended.value.code == 0
