"""Throw-away PostgreSQL databases, migrated by a service's real migrations: one helper for
the tests, the posture tests and the benchmarks."""

import asyncio
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager


def run_admin(admin_url: str, statement: str) -> None:
    """One statement on the admin database, in a thread of its own (callers may be inside a
    running event loop). RuntimeError, saying how to fix it, when the server does not answer."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _admin(admin_url, statement)).result()


async def _admin(admin_url: str, statement: str) -> None:
    import asyncpg

    dsn = admin_url.replace("postgresql+asyncpg://", "postgresql://")
    try:
        connection = await asyncpg.connect(dsn, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise RuntimeError(
            f"PostgreSQL is not reachable at {dsn} ({exc}); run `make services` or set "
            "TEST_POSTGRES_URL"
        ) from exc
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def fresh_postgres_database(
    admin_url: str, migrate_with: Callable[[str], object], prefix: str = "saekdam_test"
) -> Iterator[str]:
    """A new database next to the admin one, migrated with `migrate_with(url)`, dropped on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    run_admin(admin_url, f'CREATE DATABASE "{name}"')
    base, _, _ = admin_url.rpartition("/")
    url = f"{base}/{name}"
    try:
        migrate_with(url)
        yield url
    finally:
        run_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
