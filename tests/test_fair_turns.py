"""Fair turns over real processes: a newcomer is not starved by one person's backlog, and a
worker killed mid-run still leaves every job COMPLETED exactly once."""

import asyncio
import signal

import pytest
from sqlalchemy import text

from saekdam_backbone.db import create_engine
from tests.fixtures.client import Client
from tests.fixtures.services import fresh_sqlite_database
from tests.fixtures.system import start_system, storage_env

pytestmark = pytest.mark.slow

JOB = {"steps": 4, "step_s": 0.1}


@pytest.fixture
def system(tmp_path, redis_url):
    started = start_system(
        tmp_path,
        database_url=fresh_sqlite_database(tmp_path),  # nobody else's tasks in the line
        redis_url=redis_url,
        storage_env=storage_env("local", tmp_path, None),
        workers=1,
    )
    yield started
    started.shutdown()


async def _rows(database_url: str) -> list:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(
                text("SELECT id, owner_id, status, attempt, submitted_at, started_at FROM tasks")
            )
            return result.all()
    finally:
        await engine.dispose()


async def _submit(client: Client) -> str:
    task_id = await client.create_task()
    assert (await client.submit(task_id, "noop", JOB)).status_code == 202
    return task_id


async def test_a_newcomer_starts_within_two_starts_and_a_kill_loses_nothing(system):
    heavy, newcomer = (
        await Client(system.base_url).as_guest(),
        await Client(system.base_url).as_guest(),
    )
    heavy_ids = [await _submit(heavy) for _ in range(30)]
    newcomer_id = await _submit(newcomer)
    await newcomer.wait_until(newcomer_id, lambda t: t["status"] == "COMPLETED", timeout_s=60)

    # Now kill the worker in the middle of one of the heavy user's jobs.
    async with asyncio.timeout(60):
        while True:
            tasks = [await heavy.task(t) for t in heavy_ids]
            if any(t["status"] == "INPROGRESS" and t["progress"] > 0 for t in tasks):
                break
            await asyncio.sleep(0.05)
    system.keep_workers_alive(1)
    system.workers[0].send_signal(signal.SIGKILL)
    for task_id in heavy_ids:
        await heavy.wait_until(task_id, lambda t: t["status"] == "COMPLETED", timeout_s=120)

    rows = {r.id: r for r in await _rows(system.env["DATABASE_URL"])}
    assert all(rows[t].status == "COMPLETED" for t in [*heavy_ids, newcomer_id])
    for task_id in [*heavy_ids, newcomer_id]:
        keys = system.result_keys(task_id)
        assert len(keys) == 1, (task_id, keys)  # exactly one result: it ran to the end once
        assert keys[0].startswith(f"results/{task_id}/{rows[task_id].attempt}/")
    assert any(rows[t].attempt == 2 for t in heavy_ids)  # the killed job ran again

    submitted = rows[newcomer_id].submitted_at
    started = rows[newcomer_id].started_at
    between = [
        t for t in heavy_ids if rows[t].started_at and submitted < rows[t].started_at < started
    ]
    # At most one heavy job (the one already waiting on the stream) went before it.
    assert len(between) <= 1, len(between)
