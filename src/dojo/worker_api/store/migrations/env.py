"""Alembic environment: the URL comes from the caller (``config.attributes['sqlalchemy_url']``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from dojo.worker_api.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = config.attributes["sqlalchemy_url"]
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=connection.dialect.name == "sqlite"
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
