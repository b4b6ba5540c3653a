"""Fault tests: workers killed, paused and stopped mid-job; poison jobs; lost enqueues.

The system runs with a 2 s lease so that failover happens within seconds.
"""

import asyncio
import json
import signal
import time

import pytest
from redis.asyncio import Redis

from saekdam_contracts.redis_keys import DEAD_LETTER_STREAM
from tests.fixtures.client import Client

pytestmark = pytest.mark.slow

SLOW_NOOP = {"steps": 40, "step_s": 0.1}


async def start_slow_job(client: Client, params: dict = SLOW_NOOP) -> str:
    task_id = await client.create_task()
    assert (await client.submit(task_id, "noop", params)).status_code == 202
    await client.wait_until(task_id, lambda t: t["status"] == "INPROGRESS" and t["progress"] > 0)
    return task_id


@pytest.mark.parametrize(("storage", "database"), [("local", "sqlite"), ("s3", "postgres")])
async def test_a_killed_worker_job_completes_once_on_another_attempt(
    system_factory, storage, database
):
    system = system_factory(storage, database)
    client = await Client(system.base_url).as_guest()
    task_id = await start_slow_job(client)

    system.workers[0].send_signal(signal.SIGKILL)
    system.workers[0].wait()
    system.start_worker()
    task = await client.wait_until(task_id, lambda t: t["status"] == "COMPLETED", timeout_s=60)

    assert task["attempt"] == 2
    assert len(task["results"]) == 1
    assert system.result_keys(task_id) == [f"results/{task_id}/2/noop.png"]
    frames = await client.events(task_id)
    assert [f["status"] for f in frames] == ["COMPLETED"]


async def test_a_killed_worker_loses_neither_its_running_nor_its_prefetched_job(system_factory):
    system = system_factory(PREFETCH_JOBS="1")
    client = await Client(system.base_url).as_guest()
    running = await start_slow_job(client)
    prefetched = await client.create_task()
    assert (await client.submit(prefetched, "noop", {"steps": 2})).status_code == 202
    # Read and prepared ahead while the first one runs, but not claimed: still QUEUED.
    await asyncio.sleep(1.0)
    assert (await client.task(prefetched))["status"] == "QUEUED"

    system.workers[0].send_signal(signal.SIGKILL)
    system.workers[0].wait()
    system.start_worker()
    # Each taken over after the dead worker's message went idle, and run once: the running
    # job on its second attempt, the prefetched one on its first (it was never charged).
    for task_id, attempt in ((running, 2), (prefetched, 1)):
        task = await client.wait_until(task_id, lambda t: t["status"] == "COMPLETED", timeout_s=90)
        assert task["attempt"] == attempt
        assert system.result_keys(task_id) == [f"results/{task_id}/{attempt}/noop.png"]
        assert [f["status"] for f in await client.events(task_id)] == ["COMPLETED"]


async def test_a_paused_worker_cannot_write_after_its_lease_was_taken_over(system_factory):
    system = system_factory()
    client = await Client(system.base_url).as_guest()
    task_id = await start_slow_job(client, {"steps": 30, "step_s": 0.1})
    paused = system.workers[0]
    paused.send_signal(signal.SIGSTOP)
    try:
        system.start_worker()
        done = await client.wait_until(task_id, lambda t: t["status"] == "COMPLETED", timeout_s=60)
    finally:
        paused.send_signal(signal.SIGCONT)

    # The resumed worker's next writes are refused by the attempt fence.
    async with asyncio.timeout(30):
        while "no longer ours" not in system.worker_log(0):  # noqa: ASYNC110 - a log file
            await asyncio.sleep(0.1)
    after = await client.task(task_id)
    assert after["status"] == "COMPLETED" and after["attempt"] == done["attempt"] == 2
    assert after["seq"] == done["seq"]
    assert system.result_keys(task_id) == [f"results/{task_id}/2/noop.png"]


async def test_a_client_reconnecting_mid_job_sees_seq_only_grow_and_the_end(system_factory):
    system = system_factory()
    client = await Client(system.base_url).as_guest()
    task_id = await start_slow_job(client, {"steps": 30, "step_s": 0.05})
    first = await client.events(task_id, limit=3)
    second = await client.events(task_id, auth="frame")

    for frames in (first, second):
        seqs = [f["seq"] for f in frames]
        assert seqs == sorted(set(seqs)), seqs
    # The new snapshot is at least as new as what the client saw before it left.
    assert second[0]["type"] == "snapshot" and second[0]["seq"] >= first[-1]["seq"]
    assert second[-1]["status"] == "COMPLETED"


async def test_a_poison_job_fails_after_max_attempts_while_others_flow(system_factory, redis_url):
    system = system_factory(MAX_ATTEMPTS="2")
    system.keep_workers_alive(1)
    client = await Client(system.base_url).as_guest()
    poison = await client.create_task()
    await client.submit(poison, "noop", {"steps": 2, "step_s": 0.1, "fail": "crash"})
    healthy = []
    for _ in range(3):
        task_id = await client.create_task()
        await client.submit(task_id, "noop", {"steps": 2})
        healthy.append(task_id)

    failed = await client.wait_until(poison, lambda t: t["status"] == "FAILED", timeout_s=90)
    assert failed["error"]["code"] == "max_attempts_exceeded"
    for task_id in healthy:
        assert (await client.wait_until(task_id, lambda t: t["status"] == "COMPLETED"))[
            "attempt"
        ] == 1
    redis = Redis.from_url(redis_url)
    dead = await redis.xrange(DEAD_LETTER_STREAM)
    await redis.aclose()
    assert poison in [fields[b"task_id"].decode() for _, fields in dead]


async def test_transient_errors_retry_with_backoff_then_fail(system_factory):
    system = system_factory(MAX_ATTEMPTS="3")
    client = await Client(system.base_url).as_guest()
    task_id = await client.create_task()
    started = time.monotonic()
    await client.submit(task_id, "noop", {"fail": "transient"})
    task = await client.wait_until(task_id, lambda t: t["status"] == "FAILED", timeout_s=60)
    # RETRY_BASE_S=0.2: waits of 0.2 s and 0.4 s before the second and third attempts.
    assert time.monotonic() - started >= 0.6
    assert task["attempt"] == 3
    assert task["error"]["code"] == "noop_transient"
    assert "Traceback" not in system.worker_log(0)


async def test_a_task_whose_enqueue_was_lost_is_enqueued_by_the_reconciler(system_factory):
    system = system_factory()
    client = await Client(system.base_url).as_guest()
    task_id = await client.create_task()
    # Commit the QUEUED state the way the API does, but "crash" before the XADD.
    from saekdam_backbone.db import create_engine, create_sessions
    from saekdam_backbone.tasks.store import TaskStore

    engine = create_engine(system.env["DATABASE_URL"])
    me = (await client.request("GET", "/v1/users/me")).json()["id"]
    assert await TaskStore(create_sessions(engine)).submit(task_id, me, "noop", {"steps": 1}, [])
    await engine.dispose()
    task = await client.wait_until(task_id, lambda t: t["status"] == "COMPLETED", timeout_s=30)
    assert task["attempt"] == 1


async def test_cancel_stops_a_running_job_and_the_worker_goes_on(system_factory):
    system = system_factory()
    client = await Client(system.base_url).as_guest()
    task_id = await start_slow_job(client, {"steps": 200, "step_s": 0.1})
    response = await client.request("POST", f"/v1/tasks/{task_id}/cancel")
    assert response.status_code == 202 and response.json()["status"] == "CANCELLED"
    frames = await client.events(task_id)
    assert frames[-1]["status"] == "CANCELLED"

    next_task = await client.create_task()
    await client.submit(next_task, "noop", {"steps": 1})
    await client.wait_until(next_task, lambda t: t["status"] == "COMPLETED", timeout_s=30)
    assert (await client.task(task_id))["status"] == "CANCELLED"
    assert system.result_keys(task_id) == []


async def test_sigterm_releases_the_running_job_to_another_worker(system_factory):
    system = system_factory(SHUTDOWN_GRACE_S="0.5")
    client = await Client(system.base_url).as_guest()
    task_id = await start_slow_job(client, {"steps": 100, "step_s": 0.1})
    system.start_worker()
    system.workers[0].send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(system.workers[0].wait, 10) == 0  # well before a lease

    task = await client.wait_until(task_id, lambda t: t["status"] == "COMPLETED", timeout_s=60)
    assert task["attempt"] == 2
    released = [
        json.loads(line) for line in system.worker_log(0).splitlines() if line.startswith("{")
    ]
    assert any(entry.get("outcome") == "released" for entry in released)
