"""The arq side of the queue comparison: a no-op job and the settings for arq's own CLI.

Run as `python -m arq bench.arq_worker.WorkerSettings` with BENCH_ARQ_REDIS (and optionally
BENCH_ARQ_MAX_JOBS / BENCH_ARQ_POLL_DELAY) in the environment, so arq runs exactly as its users
run it: its CLI, its default logging, one worker process.
"""

import os

from arq.connections import RedisSettings


async def noop(ctx) -> None:
    return None


class WorkerSettings:
    functions = [noop]
    redis_settings = RedisSettings.from_dsn(
        os.environ.get("BENCH_ARQ_REDIS", "redis://127.0.0.1:6379/1")
    )
    max_jobs = int(os.environ.get("BENCH_ARQ_MAX_JOBS", "10"))
    poll_delay = float(os.environ.get("BENCH_ARQ_POLL_DELAY", "0.5"))
