"""Database engine and session factory for SQLite (embedded mode) and PostgreSQL."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, Float, event, exc, false, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import await_only


class Base(DeclarativeBase):
    pass


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC: the same on SQLite (no time zones) and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        return value.replace(tzinfo=UTC) if value is not None else None


class db_epoch(FunctionElement):
    """The database server's clock in epoch seconds. Leases and backoffs are compared against
    this one clock, so the API's and every worker's own clocks may disagree harmlessly."""

    type = Float()
    inherit_cache = True


@compiles(db_epoch, "postgresql")
def _postgres_epoch(_element, _compiler, **_kw) -> str:
    return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)"


@compiles(db_epoch, "sqlite")
def _sqlite_epoch(_element, _compiler, **_kw) -> str:
    return "((julianday('now') - 2440587.5) * 86400.0)"


def utcnow() -> datetime:
    return datetime.now(UTC)


# Connections kept open: enough for a busy process's concurrent requests. Past pool_size a
# connection is opened for one checkout and closed after it, and opening one costs far more
# than any query (PostgreSQL: authentication and type introspection; SQLite: a thread and
# the pragmas below): a pool smaller than the load turns every request into a reconnect.
# Opened lazily, so a quiet process holds few.
POOL = {"pool_size": 24, "max_overflow": 16}


def create_engine(database_url: str, *, timeout_s: float | None = None) -> AsyncEngine:
    """The engine; `timeout_s` bounds each connect, wait for a pooled connection and
    statement on a server database (a request server's: an unreachable or frozen database is
    an error within that, not a hang; saekdam_backbone.dependencies maps it to 503)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        # No pool_pre_ping: it costs three round trips (BEGIN, ping, ROLLBACK) per checkout.
        # A connection the server dropped fails its request once; SQLAlchemy then discards
        # every pooled connection older than that failure, so the next requests reconnect.
        bounded = {}
        if timeout_s is not None and url.get_backend_name() == "postgresql":
            bounded = {
                "pool_timeout": timeout_s,
                "connect_args": {"timeout": timeout_s, "command_timeout": timeout_s},
            }
        return create_async_engine(url, pool_recycle=1800, **POOL, **bounded)

    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": 30}, **POOL)

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):
        # WAL lets the API read while a worker writes; busy_timeout makes writers queue
        # instead of failing when the API and workers (separate processes) write at once.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    _WriterQueue(engine).install()
    return engine


class _WriterQueue:
    """One writing transaction at a time per process, the others waiting their turn on the
    event loop. SQLite itself allows one writer: without this, concurrent writers of one
    process find the file locked and sleep in SQLite's busy handler (1, 2, 5, 10 … ms),
    and throughput collapses under load. Other processes (workers) still meet busy_timeout.

    The turn is taken at a transaction's first INSERT/UPDATE/DELETE (where the driver opens
    the transaction) and given back after its COMMIT or ROLLBACK, or when the connection is
    closed or invalidated. Waiting gives up after the busy timeout, as SQLite would."""

    WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
    TIMEOUT_S = 30

    def __init__(self, engine: AsyncEngine):
        self._engine = engine.sync_engine
        self._turn = asyncio.Lock()
        self._holder: object | None = None

    def install(self) -> None:
        event.listen(self._engine, "before_cursor_execute", self._before_execute)
        dialect = self._engine.dialect
        for name in ("do_commit", "do_rollback"):
            setattr(dialect, name, self._releasing(_only_in_transaction(getattr(dialect, name))))
        for name in ("do_close", "do_terminate"):
            setattr(dialect, name, self._releasing(getattr(dialect, name)))
        for name in ("invalidate", "soft_invalidate", "close", "close_detached"):
            event.listen(self._engine.pool, name, self._release_event)

    def _before_execute(self, conn, _cursor, statement, _params, _context, _many) -> None:
        dbapi_connection = conn.connection.dbapi_connection
        if self._holder is dbapi_connection or not statement.lstrip().upper().startswith(
            self.WRITES
        ):
            return
        try:
            await_only(asyncio.wait_for(self._turn.acquire(), self.TIMEOUT_S))
        except TimeoutError as error:
            raise exc.OperationalError(statement, None, error) from error
        self._holder = dbapi_connection

    def _releasing(self, method):
        def call(dbapi_connection, *args):
            try:
                return method(dbapi_connection, *args)
            finally:
                self._release(dbapi_connection)

        return call

    def _release_event(self, dbapi_connection, *_args) -> None:
        self._release(dbapi_connection)

    def _release(self, connection) -> None:
        # The dialect is handed the pool's proxy, pool events the driver's connection.
        dbapi_connection = getattr(connection, "dbapi_connection", connection)
        if self._holder is not None and self._holder is dbapi_connection:
            self._holder = None
            self._turn.release()


def _only_in_transaction(method):
    """COMMIT/ROLLBACK only when the driver opened a transaction. A read opens none, yet the
    pool rolls back every connection it takes back: a round trip to the connection's thread
    for nothing, as costly as the read itself."""

    def call(connection, *args):
        driver = getattr(connection, "dbapi_connection", connection)._connection
        if driver.in_transaction:
            method(connection, *args)

    return call


def create_sessions(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def single_statements(sessions_or_engine: async_sessionmaker | AsyncEngine) -> AsyncEngine:
    """The engine for statements that stand alone (one read, one INSERT), as `engine.connect()`.

    On PostgreSQL in autocommit: one round trip instead of BEGIN, statement, COMMIT/ROLLBACK
    (asyncpg's adapter opens a transaction even for a read). SQLite's driver opens none for
    a read and switching its isolation level costs a thread hop each way, so it stays as is.
    """
    engine = (
        sessions_or_engine.kw["bind"]
        if isinstance(sessions_or_engine, async_sessionmaker)
        else sessions_or_engine
    )
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine


async def lock_for_count(executor: AsyncSession | AsyncConnection, key_column, key) -> None:
    """Make a count-then-insert under one parent exact: the first statement of the
    transaction that counts the parent's children, checks the cap and inserts. Concurrent
    transactions for the same parent run one after another from here until each commits.

    PostgreSQL: the parent's row `FOR NO KEY UPDATE` (`key_column` is its primary key): it
    excludes the same lock, not the key-share lock a foreign key's insert takes on its parent,
    so holding it while inserting rows that reference the parent's own parent cannot deadlock
    (an upload's under its task, with a submit holding the user's). The count has to be a
    later statement: in READ COMMITTED each statement reads what was committed when it
    started, so one that waited for the lock would count from before the wait.

    SQLite: one writer at a time for the whole file, so the turn is taken now rather than at
    the INSERT: a write that changes no row makes the driver begin the transaction, the
    process's writer queue give this connection its turn, and SQLite take its write lock
    (other processes wait in busy_timeout). Everything read after it is the latest.
    """
    column = key_column.expression
    dialect = (
        executor.get_bind().dialect if isinstance(executor, AsyncSession) else executor.dialect
    )
    if dialect.name == "sqlite":
        await executor.execute(update(column.table).where(false()).values({column.name: column}))
    else:
        await executor.execute(select(column).where(column == key).with_for_update(key_share=True))
