"""Puts tasks back on the stream that should be there but are not.

Covers a crash between the API's commit and its XADD, retries whose backoff has passed,
and (with Redis keeping nothing on disk) messages lost with a Redis restart. One worker at
a time sweeps, under a short Redis lock; a task enqueued twice is harmless because claims
are fenced in the database.
"""

import logging

from redis.asyncio import Redis

from saekdam_backbone.queue import JobQueue
from saekdam_backbone.tasks.store import TaskStore
from saekdam_contracts.jobs import JOB_SPECS
from saekdam_contracts.queue import JobMessage
from saekdam_contracts.redis_keys import RECONCILER_LOCK

log = logging.getLogger(__name__)


class Reconciler:
    def __init__(
        self,
        store: TaskStore,
        queue: JobQueue,
        redis: Redis,
        *,
        owner: str,
        interval_s: float,
        grace_s: float,
        requeue_after_s: float,
        undispatched: bool = True,
    ):
        self._store, self._queue, self._redis = store, queue, redis
        self._owner = owner
        # False under fair turns: the dispatcher puts never-enqueued tasks on the stream.
        self._undispatched = undispatched
        self._interval_s, self._grace_s, self._requeue_after_s = (
            interval_s,
            grace_s,
            requeue_after_s,
        )

    async def sweep(self) -> int:
        """One pass; returns how many tasks were put on the stream."""
        lock_ms = max(int(self._interval_s * 1000), 100)
        if not await self._redis.set(RECONCILER_LOCK, self._owner, nx=True, px=lock_ms):
            return 0
        due = await self._store.due_for_enqueue(
            grace_s=self._grace_s,
            requeue_after_s=self._requeue_after_s,
            undispatched=self._undispatched,
        )
        enqueued = 0
        for task_id, kind, last_id in due:
            if kind not in JOB_SPECS:
                log.error(
                    "task of unknown kind left alone", extra={"task_id": task_id, "kind": kind}
                )
                continue
            if last_id is not None and await self._queue.contains(kind, last_id):
                # Only a long queue: its message is still there. Look again later.
                await self._store.mark_enqueued(task_id, last_id)
                continue
            message_id = await self._queue.enqueue(JobMessage(task_id=task_id, kind=kind))
            await self._store.mark_enqueued(task_id, message_id)
            log.info("task enqueued by the reconciler", extra={"task_id": task_id, "kind": kind})
            enqueued += 1
        return enqueued
