"""The migrations build exactly the models, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from connec.db import alembic_config, migrate

POSTGRES_ADMIN_URL = os.environ.get(
    "CONNEC_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    try:
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            name = f"connec_test_{uuid.uuid4().hex[:8]}"
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {exc}")
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url.replace("postgresql+psycopg2", "postgresql+asyncpg")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_sqlite_schema_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'connec.db'}"
    migrate(url)
    migrate(url)  # twice is harmless
    command.check(alembic_config(url))


@pytest.mark.postgres
def test_postgres_schema_matches_the_models(postgres_url: str) -> None:
    migrate(postgres_url)
    command.check(alembic_config(postgres_url))
    command.downgrade(alembic_config(postgres_url), "base")
    migrate(postgres_url)
