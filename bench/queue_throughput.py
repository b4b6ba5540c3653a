"""End-to-end no-op job throughput: our queue (through the whole system) vs arq.

Both sides: one worker process, the same redis-server, jobs put in by `concurrency` concurrent
producers, timed from the first request/enqueue to the moment the last completion is seen.

Ours: each job is POST /v1/tasks then POST /v1/tasks/{id}/submit (kind `noop`, steps=1) over
HTTP to the real API; completion is the COMPLETED TaskEvent on the Redis channel the websocket
relay listens to. So it includes HTTP, task creation, a database write per state transition,
the worker's claim/lease/result writes and the event publishes.
Arq: `ArqRedis.enqueue_job("noop")`; completion is the job's result key appearing in Redis
(polled every `POLL_S`, one EXISTS over all keys).
"""

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from arq import create_pool
from arq.connections import RedisSettings
from arq.constants import default_queue_name, health_check_key_suffix, result_key_prefix
from redis.asyncio import Redis

from infra.processes import REPO, stop, wait_for
from saekdam_contracts.redis_keys import TASK_EVENTS_CHANNEL

POLL_S = 0.002
WARMUP_JOBS = 5
FAILED = {"FAILED", "CANCELLED"}


def _median_of(runs: list[dict]) -> dict:
    """The median run by jobs/s (repeat is odd by default), with every run's rate kept."""
    ordered = sorted(runs, key=lambda r: r["jobs_per_s"])
    return {**ordered[len(ordered) // 2], "runs_jobs_per_s": [r["jobs_per_s"] for r in runs]}


def _summary(n: int, started: float, submitted: float, finished: float) -> dict:
    wall = finished - started
    return {
        "jobs": n,
        "wall_s": round(wall, 4),
        "submit_s": round(submitted - started, 4),
        "jobs_per_s": round(n / wall, 2),
    }


# -- ours --------------------------------------------------------------------------------


async def ours(
    base_url: str, redis_url: str, n: int, concurrency: int, repeat: int = 1, timeout_s: float = 120
) -> dict:
    redis = Redis.from_url(redis_url)
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(TASK_EVENTS_CHANNEL)
    completed: dict[str, float] = {}
    failed: dict[str, dict] = {}

    async def listen() -> None:
        async for message in pubsub.listen():
            seen = time.perf_counter()
            event = json.loads(message["data"])
            if event["status"] == "COMPLETED":
                completed.setdefault(event["task_id"], seen)
            elif event["status"] in FAILED:
                failed[event["task_id"]] = event

    listener = asyncio.create_task(listen())
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            response = await http.post("/v1/auth/guest")
            response.raise_for_status()
            http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

            async def one(sem: asyncio.Semaphore, ids: list[str]) -> None:
                async with sem:
                    created = await http.post("/v1/tasks")
                    if created.status_code != 201:
                        raise RuntimeError(f"create task: {created.status_code} {created.text}")
                    task_id = created.json()["task_id"]
                    sent = await http.post(
                        f"/v1/tasks/{task_id}/submit", json={"kind": "noop", "params": {"steps": 1}}
                    )
                    if sent.status_code != 202:
                        raise RuntimeError(f"submit: {sent.status_code} {sent.text}")
                    ids.append(task_id)

            async def batch(count: int) -> dict:
                ids: list[str] = []
                sem = asyncio.Semaphore(concurrency)
                started = time.perf_counter()
                await asyncio.gather(*(one(sem, ids) for _ in range(count)))
                submitted = time.perf_counter()
                async with asyncio.timeout(timeout_s):
                    while not all(t in completed for t in ids):
                        if bad := [failed[t] for t in ids if t in failed]:
                            raise RuntimeError(f"{len(bad)} no-op jobs failed, e.g. {bad[0]}")
                        if listener.done():
                            listener.result()
                        await asyncio.sleep(0.01)
                return _summary(count, started, submitted, max(completed[t] for t in ids))

            await batch(WARMUP_JOBS)
            return _median_of([await batch(n) for _ in range(repeat)])
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
        await pubsub.aclose()
        await redis.aclose()


# -- arq ---------------------------------------------------------------------------------


def start_arq_worker(
    redis_url: str, log_path: Path, max_jobs: int, poll_delay_s: float
) -> subprocess.Popen:
    """arq's own CLI, one process, its defaults apart from what is passed here."""
    env = {
        **os.environ,
        "BENCH_ARQ_REDIS": redis_url,
        "BENCH_ARQ_MAX_JOBS": str(max_jobs),
        "BENCH_ARQ_POLL_DELAY": str(poll_delay_s),
    }
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "arq", "bench.arq_worker.WorkerSettings"],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def _check_alive(worker: subprocess.Popen, log_path: Path) -> None:
    if worker.poll() is not None:
        raise RuntimeError("arq worker exited:\n" + log_path.read_text()[-3000:])


async def arq(
    redis_url: str,
    n: int,
    concurrency: int,
    log_path: Path,
    repeat: int = 1,
    max_jobs: int = 10,
    poll_delay_s: float = 0.5,
    timeout_s: float = 120,
) -> dict:
    """arq's defaults are max_jobs=10 and poll_delay=0.5 s (the worker looks for new jobs at
    most every poll_delay, taking up to 100 ids per look)."""
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    await pool.flushdb()
    worker = start_arq_worker(redis_url, log_path, max_jobs, poll_delay_s)
    try:
        health_key = default_queue_name + health_check_key_suffix

        async def batch(count: int) -> dict:
            sem = asyncio.Semaphore(concurrency)
            keys: list[str] = []

            async def one() -> None:
                async with sem:
                    job = await pool.enqueue_job("noop")
                    if job is None:
                        raise RuntimeError("arq refused the job")
                    keys.append(result_key_prefix + job.job_id)

            started = time.perf_counter()
            await asyncio.gather(*(one() for _ in range(count)))
            submitted = time.perf_counter()
            async with asyncio.timeout(timeout_s):
                while await pool.exists(*keys) < count:
                    _check_alive(worker, log_path)
                    await asyncio.sleep(POLL_S)
            return _summary(count, started, submitted, time.perf_counter())

        async with asyncio.timeout(60):
            while not await pool.exists(health_key):
                _check_alive(worker, log_path)
                await asyncio.sleep(0.05)
        await batch(WARMUP_JOBS)
        result = _median_of([await batch(n) for _ in range(repeat)])
        result["max_jobs"] = max_jobs
        result["poll_delay_s"] = poll_delay_s
        return result
    finally:
        await pool.flushdb()
        await pool.aclose()
        stop(worker, timeout_s=10)
        wait_for(lambda: worker.poll() is not None, 10, "arq worker did not stop")
