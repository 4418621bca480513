"""Alembic environment: connec's migrations, run with a synchronous driver."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from connec.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
