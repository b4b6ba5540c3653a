"""Alembic environment: runs migrations on the async engine for SQLite or PostgreSQL."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from saekdam_api.db import models  # noqa: F401  (registers every table)
from saekdam_backbone.db import Base, create_engine

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


asyncio.run(_run_async())
