"""Queue position and ETA over real websockets while a real worker works the queue down."""

import asyncio
import json

import pytest
import websockets
from sqlalchemy import text

from saekdam_backbone.db import create_engine
from tests.fixtures.client import TERMINAL, Client
from tests.fixtures.services import fresh_sqlite_database
from tests.fixtures.system import start_system, storage_env

pytestmark = pytest.mark.slow

JOBS = 10


async def _watch(client: Client, task_id: str) -> list[dict]:
    frames = []
    async with websockets.connect(
        f"{client.ws_url}/v1/tasks/{task_id}/events", additional_headers=client.headers
    ) as ws:
        async with asyncio.timeout(120):
            async for message in ws:
                frames.append(json.loads(message))
                if frames[-1].get("status") in TERMINAL:
                    return frames
    return frames


async def _database_counts(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT status, count(*) FROM tasks WHERE kind = 'noop'"
                    " AND status IN ('QUEUED', 'INPROGRESS') GROUP BY status"
                )
            )
            return dict(rows.all())
    finally:
        await engine.dispose()


@pytest.fixture
def system(tmp_path, redis_url):
    # A database of its own: nothing queued by other tests stands ahead in the line.
    started = start_system(
        tmp_path,
        database_url=fresh_sqlite_database(tmp_path),
        redis_url=redis_url,
        storage_env=storage_env("local", tmp_path, None),
        workers=0,
        QUEUE_REFRESH_S="0.2",
    )
    yield started
    started.shutdown()


async def test_positions_fall_by_one_as_each_job_ahead_starts(system):
    client = await Client(system.base_url).as_guest()
    ids = []
    for _ in range(JOBS):
        task_id = await client.create_task()
        submitted = await client.submit(task_id, "noop", {"steps": 1, "step_s": 1.2})
        assert submitted.status_code == 202, submitted.text
        ids.append(task_id)

    queue = {k["kind"]: k for k in (await client.request("GET", "/v1/queue")).json()["kinds"]}
    counts = await _database_counts(system.env["DATABASE_URL"])
    assert queue["noop"]["waiting"] == counts.get("QUEUED", 0) == JOBS
    assert queue["noop"]["running"] == counts.get("INPROGRESS", 0) == 0

    watchers = [asyncio.create_task(_watch(client, task_id)) for task_id in ids]
    await asyncio.sleep(1)  # every socket has its snapshot
    system.start_worker()
    histories = await asyncio.gather(*watchers)

    for index, frames in enumerate(histories):
        assert frames[-1]["status"] == "COMPLETED"
        placed = [f for f in frames if "queue_position" in f]
        positions = [f["queue_position"] for f in placed]
        deduped = [p for i, p in enumerate(positions) if i == 0 or p != positions[i - 1]]
        assert deduped == list(range(index + 1, 0, -1)), (index, positions)
        etas = [f["eta_s"] for f in placed]
        assert all(e is not None and e > 0 for e in etas)
        assert etas[0] >= etas[-1] and (index == 0 or etas[0] > etas[-1]), (index, etas)
        seqs = [f["seq"] for f in frames if "seq" in f]
        assert seqs == sorted(set(seqs))
        # Queue frames carry no seq: the task itself did not change.
        assert all("seq" not in f for f in frames if f["type"] == "queue")
