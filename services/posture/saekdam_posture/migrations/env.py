"""Alembic environment of the posture service: its own tables and version table."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from saekdam_backbone.db import create_engine
from saekdam_posture.db.models import PostureBase

VERSION_TABLE = "alembic_version_posture"


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=PostureBase.metadata,
        version_table=VERSION_TABLE,
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
