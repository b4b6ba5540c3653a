"""Alembic plumbing shared by the services that own tables (each keeps its own history).

Needs alembic, which those services install; the worker never migrates anything.
"""

import asyncio
from pathlib import Path

from sqlalchemy import MetaData

from .db import create_engine


def alembic_config(script_location: Path, database_url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(script_location: Path, database_url: str) -> None:
    """Bring a database to the newest schema of one service's migrations."""
    from alembic import command

    command.upgrade(alembic_config(script_location, database_url), "head")


def run_env(metadata: MetaData, version_table: str = "alembic_version") -> None:
    """The body of a service's migrations/env.py: migrate on the async engine (SQLite uses
    batch mode, since it cannot ALTER most things in place)."""
    from alembic import context

    def run(connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table=version_table,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
        async with engine.connect() as connection:
            await connection.run_sync(run)
            await connection.commit()
        await engine.dispose()

    asyncio.run(run_async())
