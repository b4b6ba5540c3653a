"""Puts QUEUED tasks on their kind's stream in fair turns (saekdam_backbone.fairness).

The stream only ever holds a few tasks per kind that wait for a worker (`depth` per worker
online), so a newcomer's task is at most that many starts away from running, however
many one person queued. Everything else about the queue stays as it was: workers read the
stream, claim in the database (fenced), reclaim a dead worker's message, retry, dead-letter.
The database is the truth: a task that never reached the stream is simply dispatched
later, so a crash anywhere loses nothing.

One dispatcher at a time (a short Redis lock); a submit or a claim wakes it, and it looks
anyway every `interval_s`.
"""

import asyncio
import contextlib
import logging
import time
from collections import Counter
from dataclasses import replace

from redis.asyncio import Redis
from redis.exceptions import RedisError

from saekdam_backbone.fairness import start_order
from saekdam_backbone.queue import JobQueue
from saekdam_backbone.tasks.store import TaskStore
from saekdam_backbone.turns import Turns
from saekdam_backbone.workers import live_workers
from saekdam_contracts.queue import JobMessage
from saekdam_contracts.redis_keys import DISPATCH_CHANNEL, DISPATCH_LOCK

log = logging.getLogger(__name__)

# Advertisements change every few seconds; reading them at every wake-up costs a SCAN.
WORKERS_FRESH_S = 5.0
# Compare-and-delete: release the lock only if it is still ours.
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"


class Dispatcher:
    def __init__(
        self,
        store: TaskStore,
        queue: JobQueue,
        redis: Redis,
        *,
        owner: str,
        kinds: list[str],
        depth: int = 1,
        interval_s: float = 0.2,
        lock_s: float = 5.0,
    ):
        self._store, self._queue, self._redis = store, queue, redis
        self._turns = Turns(redis)
        self._owner, self._kinds = owner, kinds
        self._depth, self._interval_s, self._lock_ms = depth, interval_s, int(lock_s * 1000)
        self._wake = asyncio.Event()
        self._workers_by_kind: dict[str, int] = {}
        self._workers_read_at = -float("inf")

    def wake(self) -> None:
        self._wake.set()

    async def run_forever(self) -> None:
        listener = asyncio.create_task(self._hear_wakeups(), name="dispatch-wakeups")
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._interval_s)
                self._wake.clear()
                try:
                    await self.dispatch_once()
                except Exception:  # noqa: BLE001 - the database is the truth: try again
                    log.warning("dispatch failed; retrying", exc_info=True)
                    await asyncio.sleep(self._interval_s)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def dispatch_once(self) -> int:
        """Top every kind's stream up to its depth, in fair turns; how many were put on."""
        if not await self._redis.set(DISPATCH_LOCK, self._owner, nx=True, px=self._lock_ms):
            return 0  # another dispatcher is at it right now
        try:
            # One grouped query finds the kinds with room and tasks to fill it; only those
            # are looked at task by task.
            counts = await self._store.queue_counts()
            put = 0
            for kind in self._kinds:
                on_stream, waiting = counts.get(kind, (0, 0))
                depth = self._depth * max(await self._workers(kind), 1)
                # Marked as on the stream, but the stream is empty: Redis lost it (a restart
                # without persistence). Put them on again now, not after REQUEUE_AFTER_S.
                lost = on_stream > 0 and await self._queue.length(kind) == 0
                if lost or (waiting > 0 and on_stream < depth):
                    put += await self._top_up(kind, depth, lost)
            return put
        finally:
            await self._redis.eval(_RELEASE, 1, DISPATCH_LOCK, self._owner)

    async def _top_up(self, kind: str, depth: int, lost: bool = False) -> int:
        waiting = await self._store.waiting(kind, ready_only=True)
        if lost:
            waiting = [replace(w, enqueued_at=None) for w in waiting]
        free = depth - sum(w.dispatched for w in waiting)
        if free <= 0 or len(waiting) == 0:
            return 0
        order = start_order(waiting, await self._turns.last(kind))
        chosen = [w for w in order if not w.dispatched][:free]
        # Stream first, then the marks: a crash between leaves a task on the stream that
        # looks undispatched, put on again later; a claim is fenced, so that is harmless.
        ids = await self._queue.enqueue_many(
            [JobMessage(task_id=task.task_id, kind=kind) for task in chosen]
        )
        await self._store.mark_all_enqueued(
            [(task.task_id, message_id) for task, message_id in zip(chosen, ids, strict=True)]
        )
        await self._turns.take(kind, *(task.owner_id for task in chosen))
        return len(chosen)

    async def _workers(self, kind: str) -> int:
        """Workers online for the kind, from their advertisements (re-read every few s)."""
        if time.monotonic() - self._workers_read_at > WORKERS_FRESH_S:
            self._workers_by_kind = Counter(
                kind for worker in await live_workers(self._redis) for kind in worker.kinds
            )
            self._workers_read_at = time.monotonic()
        return self._workers_by_kind.get(kind, 0)

    async def _hear_wakeups(self) -> None:
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(DISPATCH_CHANNEL)
                    async for _message in pubsub.listen():
                        self._wake.set()
            except (RedisError, OSError):
                await asyncio.sleep(1.0)  # the interval still dispatches meanwhile
