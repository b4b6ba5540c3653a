"""SQLite in one process: writers take turns on the event loop instead of meeting the file
lock, the turn is given back however a transaction ends, and readers never wait for it."""

import asyncio

import pytest
from sqlalchemy import event, exc, text

from saekdam_backbone.db import create_engine

# Generous: a loaded 2-core machine may take seconds where an idle one takes milliseconds.
WAIT_S = 30


@pytest.fixture
async def engine(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'writers.db'}")

    # No busy handler: a writer that met another's lock would fail at once with "database is
    # locked", so only taking turns lets concurrent writers through.
    @event.listens_for(engine.sync_engine, "connect")
    def _no_busy_wait(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=0")
        cursor.close()

    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE rows (id INTEGER PRIMARY KEY, who TEXT)"))
    yield engine
    await engine.dispose()


async def _count(engine) -> int:
    async with engine.connect() as connection:
        return await connection.scalar(text("SELECT count(*) FROM rows"))


async def test_concurrent_write_transactions_of_one_process_all_commit(engine):
    async def writer(n: int) -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO rows (who) VALUES (:who)"), {"who": n})
            await asyncio.sleep(0.01)  # others try to write meanwhile
            await connection.execute(text("INSERT INTO rows (who) VALUES (:who)"), {"who": n})

    await asyncio.wait_for(asyncio.gather(*(writer(n) for n in range(30))), WAIT_S)
    assert await _count(engine) == 60


async def test_the_turn_is_given_back_after_a_failed_write_and_after_an_invalidated_connection(
    engine,
):
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO rows (id, who) VALUES (1, 'first')"))
    with pytest.raises(exc.IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO rows (id, who) VALUES (1, 'again')"))

    connection = await engine.connect()
    await connection.begin()
    await connection.execute(text("INSERT INTO rows (who) VALUES ('lost')"))
    await connection.invalidate()  # the driver's connection is dropped mid-transaction
    await connection.close()

    async with asyncio.timeout(WAIT_S), engine.begin() as connection:
        await connection.execute(text("INSERT INTO rows (who) VALUES ('next')"))
    async with engine.connect() as connection:
        names = (await connection.scalars(text("SELECT who FROM rows ORDER BY id"))).all()
    assert names == ["first", "next"]


async def test_a_reader_does_not_wait_for_a_writer_holding_its_turn(engine):
    holding, done = asyncio.Event(), asyncio.Event()

    async def slow_writer() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO rows (who) VALUES ('slow')"))
            holding.set()
            await done.wait()

    writing = asyncio.create_task(slow_writer())
    await asyncio.wait_for(holding.wait(), WAIT_S)
    # WAL: the committed state, read while the writer's transaction is still open.
    assert await asyncio.wait_for(_count(engine), WAIT_S) == 0
    done.set()
    await asyncio.wait_for(writing, WAIT_S)
    assert await _count(engine) == 1
