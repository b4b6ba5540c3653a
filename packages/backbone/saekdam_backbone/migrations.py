"""Alembic plumbing shared by the services that own tables (each keeps its own history).

Needs alembic, which those services install; the worker never migrates anything.
"""

import argparse
import asyncio
import os
import sys
import time
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


def head_revision(script_location: Path) -> str | None:
    """The newest revision of one service's migrations (what `upgrade` brings a database to)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(
        alembic_config(script_location, "sqlite://")
    ).get_current_head()


async def current_revision(database_url: str, version_table: str = "alembic_version") -> str | None:
    """The revision a database is at for one service (None before its first migration)."""
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(
                    sync, opts={"version_table": version_table}
                ).get_current_revision()
            )
    finally:
        await engine.dispose()


def wait_for_head(
    script_location: Path,
    database_url: str,
    version_table: str = "alembic_version",
    *,
    timeout_s: float,
    poll_s: float = 2.0,
) -> bool:
    """Wait until the database is at the newest revision (a migration job has run): what a
    new release's pods do before they serve, so no pod ever runs against an older schema."""
    head = head_revision(script_location)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            at = asyncio.run(current_revision(database_url, version_table))
        except Exception as error:  # noqa: BLE001 - the database may still be starting
            at, reason = None, f"database not reachable ({error.__class__.__name__})"
        else:
            reason = f"database at {at or 'no revision'}, this release needs {head}"
        if at == head:
            return True
        if time.monotonic() >= deadline:
            print(f"migrations: gave up waiting: {reason}", file=sys.stderr, flush=True)
            return False
        print(f"migrations: waiting: {reason}", flush=True)
        time.sleep(poll_s)


def command_line(script_location: Path, version_table: str = "alembic_version") -> int:
    """`python -m <service>.db.migrate [--wait SECONDS]`: upgrade, or wait for another
    process (the migration job) to have upgraded."""
    from saekdam_backbone.settings import BackboneSettings

    parser = argparse.ArgumentParser(description="Bring the database to this service's schema.")
    parser.add_argument(
        "--wait",
        type=float,
        metavar="SECONDS",
        help="do not migrate: wait up to SECONDS until the database is at this release's "
        "newest revision (an init container's check), exit 1 if it is not",
    )
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL") or BackboneSettings().database_url
    if args.wait is not None:
        return (
            0
            if wait_for_head(script_location, database_url, version_table, timeout_s=args.wait)
            else 1
        )
    upgrade(script_location, database_url)
    return 0


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
