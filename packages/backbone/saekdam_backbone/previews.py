"""Live previews on Redis: who watches a task (API writes, worker reads) and the pictures
(worker publishes, API fans out). Best effort throughout: nothing here is state."""

import time
from dataclasses import dataclass

from pydantic import ValidationError
from redis.asyncio import Redis

from saekdam_contracts.previews import PreviewFrame, PreviewOptions, PreviewWatch
from saekdam_contracts.redis_keys import (
    PREVIEW_CHANNEL,
    PREVIEW_LATEST_PREFIX,
    PREVIEW_WATCH_PREFIX,
)

# A socket's entry lives this long unless refreshed; the API refreshes it every third of it.
WATCH_TTL_S = 15.0
# The latest preview outlives a reconnect, not the job.
LATEST_TTL_S = 60


@dataclass(frozen=True)
class PreviewDemand:
    """What the watchers of one task want together: the smallest interval, the largest side."""

    max_side: int
    every_s: float


class PreviewBus:
    def __init__(self, redis: Redis, channel: str = PREVIEW_CHANNEL):
        self._redis = redis
        self.channel = channel

    # -- the API: who watches -------------------------------------------------------------

    async def watch(self, task_id: str, watcher_id: str, options: PreviewOptions) -> None:
        """Record (or refresh) one socket's wish for WATCH_TTL_S."""
        entry = PreviewWatch(
            max_side=options.max_side, every_s=options.every_s, until=time.time() + WATCH_TTL_S
        )
        key = PREVIEW_WATCH_PREFIX + task_id
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(key, watcher_id, entry.model_dump_json())
            pipe.expire(key, int(WATCH_TTL_S) + 1)
            await pipe.execute()

    async def unwatch(self, task_id: str, watcher_id: str) -> None:
        await self._redis.hdel(PREVIEW_WATCH_PREFIX + task_id, watcher_id)

    async def latest(self, task_id: str) -> PreviewFrame | None:
        raw = await self._redis.get(PREVIEW_LATEST_PREFIX + task_id)
        return _frame(raw) if raw else None

    # -- the worker: whether to make one, and sending it ---------------------------------

    async def demand(self, task_id: str) -> PreviewDemand | None:
        """None when nobody watches (entries past their `until` are nobody)."""
        now = time.time()
        entries = []
        for raw in (await self._redis.hgetall(PREVIEW_WATCH_PREFIX + task_id)).values():
            try:
                entry = PreviewWatch.model_validate_json(raw)
            except ValidationError:
                continue
            if entry.until > now:
                entries.append(entry)
        if not entries:
            return None
        return PreviewDemand(
            max_side=max(e.max_side for e in entries), every_s=min(e.every_s for e in entries)
        )

    async def publish(self, frame: PreviewFrame) -> None:
        data = frame.model_dump_json()
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.publish(self.channel, data)
            pipe.set(PREVIEW_LATEST_PREFIX + frame.task_id, data, ex=LATEST_TTL_S)
            await pipe.execute()

    async def forget(self, task_id: str) -> None:
        """The job is over: its last preview is no news to anyone."""
        await self._redis.delete(PREVIEW_LATEST_PREFIX + task_id)


def _frame(raw: bytes | str) -> PreviewFrame | None:
    try:
        return PreviewFrame.model_validate_json(raw)
    except ValidationError:
        return None
