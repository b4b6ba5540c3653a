"""Measured wait and run times per job kind, kept in Redis so every API replica shares them.

Workers record each job's wait (submit to first start) and run (start to COMPLETED); the
API reads the median of the latest `SAMPLES` of each, a moving estimate that follows the
pool as it speeds up or slows down.
"""

import statistics
from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis

from saekdam_contracts.redis_keys import QUEUE_STATS_PREFIX

SAMPLES = 100
Metric = Literal["wait", "run"]


@dataclass(frozen=True)
class KindTimes:
    median_wait_s: float | None
    median_run_s: float | None


def _key(kind: str, metric: Metric) -> str:
    return f"{QUEUE_STATS_PREFIX}{kind}:{metric}"


class QueueStats:
    def __init__(self, redis: Redis):
        self._redis = redis

    async def record(self, kind: str, metric: Metric, seconds: float) -> None:
        key = _key(kind, metric)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.lpush(key, f"{max(seconds, 0.0):.3f}")
            pipe.ltrim(key, 0, SAMPLES - 1)
            await pipe.execute()

    async def times(self, kinds: list[str]) -> dict[str, KindTimes]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for kind in kinds:
                pipe.lrange(_key(kind, "wait"), 0, -1)
                pipe.lrange(_key(kind, "run"), 0, -1)
            lists = await pipe.execute()
        return {
            kind: KindTimes(_median(lists[2 * i]), _median(lists[2 * i + 1]))
            for i, kind in enumerate(kinds)
        }


def _median(values: list) -> float | None:
    numbers = [float(v) for v in values]
    return round(statistics.median(numbers), 3) if numbers else None
