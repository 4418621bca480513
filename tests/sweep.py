"""Where a person's traces remain in connec's database.

Erasure must reach every table (DESIGN, flow 9), so a check that lists the tables it
knows would miss the one added next year. :func:`traces_of` reads the tables and
columns from the database itself and searches every text and JSON column of every
row, so a new table or column is searched without anyone remembering it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import JSON, MetaData, String, Table, inspect, select
from sqlalchemy.engine import Connection

from connec.db import make_sync_engine

Trace = tuple[str, str, str]
"""(table, column, the row's primary key as text) where a needle was found."""


def traces_of(db_url: str, needles: Iterable[str]) -> list[Trace]:
    """Every (table, column, row) of the database at ``db_url`` holding any of ``needles``.

    Case is ignored (also for æ, ø and å), and JSON is searched as the values it holds,
    so ``ø`` is found however the document was written. Blocking: call it with
    ``asyncio.to_thread`` from a test's event loop.
    """
    wanted = sorted({needle.casefold() for needle in needles if needle})
    if not wanted:
        raise ValueError("give at least one non-empty needle")
    engine = make_sync_engine(db_url)
    try:
        with engine.connect() as connection:
            return _sweep(connection, wanted)
    finally:
        engine.dispose()


def _as_text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _sweep(connection: Connection, needles: list[str]) -> list[Trace]:
    found: list[Trace] = []
    for name in sorted(inspect(connection).get_table_names()):
        table = Table(name, MetaData(), autoload_with=connection)
        columns = [c for c in table.columns if isinstance(c.type, String | JSON)]  # Text too
        if not columns:
            continue
        key = list(table.primary_key.columns)
        for row in connection.execute(select(*key, *columns)):
            row_id = "/".join(str(value) for value in row[: len(key)]) or "?"
            for column, value in zip(columns, row[len(key) :], strict=True):
                if value is None:
                    continue
                text = _as_text(value).casefold()
                if any(needle in text for needle in needles):
                    found.append((name, column.name, row_id))
    return found
