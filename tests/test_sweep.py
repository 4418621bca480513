"""The erasure sweep finds a person wherever they are written, also where nobody looks."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from connec.db import make_sync_engine, migrate
from connec.models import Person
from tests.sweep import traces_of


def test_the_sweep_finds_names_in_text_and_json_and_in_tables_no_model_knows(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'connec.db'}"
    migrate(url)
    engine = make_sync_engine(url)
    with engine.begin() as connection:
        connection.execute(
            Person.__table__.insert().values(
                matrix_id="@soeren:connec.test",
                role="citizen",
                display_name="Søren Ørsted",
                interest_words=["Søren Ørsteds frimærker"],
                languages=[],
                interest_keys=[],
                contact_modes=[],
                availability=[],
            )
        )
        connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, note TEXT)"))
        connection.execute(text("INSERT INTO notes (id, note) VALUES (7, 'ring til søren')"))
    engine.dispose()

    assert traces_of(url, ["frimærker"]) == [("people", "interest_words", "1")]
    assert sorted(traces_of(url, ["SØREN", "@soeren:connec.test"])) == [
        ("notes", "note", "7"),
        ("people", "display_name", "1"),
        ("people", "interest_words", "1"),
        ("people", "matrix_id", "1"),
    ]
    assert traces_of(url, ["Karen"]) == []
