"""Where a QUEUED task stands, and how long it will take: position in its kind's queue and
an ETA from measured times (saekdam_backbone.queue_stats), plus GET /v1/queue.

Positions follow the order tasks will start in (saekdam_backbone.fairness: those on the
stream first, then fair turns across people). They come from one query per kind, at most
once every `queue_refresh_s` per API process, however many sockets watch: no per-task
polling of the database.

    slots   = workers online for the kind (at least 1)
    ahead   = queue_position - 1
    wait_s  = (sum over running jobs of max(run_s - their elapsed, 0) + ahead * run_s) / slots
    eta_s   = wait_s + run_s

(the pool as a pipe that drains `slots` jobs at a time: it falls while jobs ahead run, not
only when they end).

`run_s` is the kind's median run time, or `default_run_s` before anything was measured.
"""

import asyncio
import time
from dataclasses import dataclass, field

from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from saekdam_backbone.fairness import start_order
from saekdam_backbone.queue_stats import KindTimes, QueueStats
from saekdam_backbone.tasks.models import Task
from saekdam_backbone.tasks.store import TaskStore
from saekdam_backbone.turns import Turns
from saekdam_backbone.workers import live_workers
from saekdam_contracts.jobs import JOB_SPECS
from saekdam_contracts.status import TaskStatus

from ..settings import ApiSettings


@dataclass(frozen=True)
class QueueSpot:
    queue_position: int
    eta_s: float


@dataclass
class _KindQueue:
    fetched_at: float = -1.0
    positions: dict[str, int] = field(default_factory=dict)
    running_started: list[float] = field(default_factory=list)  # epoch seconds
    workers: int = 0
    times: KindTimes = KindTimes(None, None)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def eta(position: int, running_elapsed: list[float], workers: int, run_s: float) -> float:
    slots = max(workers, 1)
    remaining = sum(max(run_s - elapsed, 0.0) for elapsed in running_elapsed)
    wait = (remaining + (position - 1) * run_s) / slots
    return round(wait + run_s, 1)


class QueueService:
    def __init__(
        self, sessions: async_sessionmaker, store: TaskStore, redis: Redis, settings: ApiSettings
    ):
        self._sessions = sessions
        self._store = store
        self._redis = redis
        self._stats = QueueStats(redis)
        self._turns = Turns(redis)
        self._settings = settings
        self._kinds: dict[str, _KindQueue] = {}

    def kinds(self) -> list[str]:
        return [
            k
            for k, spec in JOB_SPECS.items()
            if not spec.diagnostic or self._settings.enable_diagnostic_jobs
        ]

    async def spot(self, task_id: str, kind: str | None) -> QueueSpot | None:
        """The task's place while it is QUEUED (None once it left the queue)."""
        if kind is None:
            return None
        queue = await self._fresh(kind)
        position = queue.positions.get(task_id)
        if position is None:
            return None
        run_s = queue.times.median_run_s or self._settings.default_run_s
        now = time.time()
        elapsed = [now - started for started in queue.running_started]
        return QueueSpot(position, eta(position, elapsed, queue.workers, run_s))

    async def overview(self) -> dict:
        kinds = self.kinds()
        counts = await self._counts()
        workers = await live_workers(self._redis)
        times = await self._stats.times(kinds)
        return {
            "kinds": [
                {
                    "kind": kind,
                    "waiting": counts.get((kind, TaskStatus.QUEUED), 0),
                    "running": counts.get((kind, TaskStatus.INPROGRESS), 0),
                    "workers": sum(kind in w.kinds for w in workers),
                    "median_wait_s": times[kind].median_wait_s,
                    "median_run_s": times[kind].median_run_s,
                }
                for kind in kinds
            ]
        }

    async def _counts(self) -> dict[tuple[str, str], int]:
        query = (
            select(Task.kind, Task.status, func.count())
            .where(Task.status.in_([TaskStatus.QUEUED, TaskStatus.INPROGRESS]))
            .group_by(Task.kind, Task.status)
        )
        async with self._sessions() as session:
            return {(k, s): n for k, s, n in (await session.execute(query)).all()}

    async def _fresh(self, kind: str) -> _KindQueue:
        queue = self._kinds.setdefault(kind, _KindQueue())
        async with queue.lock:  # one refresh per kind at a time; the rest reuse it
            if time.monotonic() - queue.fetched_at >= self._settings.queue_refresh_s:
                await self._refresh(kind, queue)
        return queue

    async def _refresh(self, kind: str, queue: _KindQueue) -> None:
        waiting = await self._store.waiting(kind)
        turns = await self._turns.last(kind)
        order = start_order(waiting, turns, self._settings.queue_order)
        running = select(Task.started_at).where(
            Task.kind == kind, Task.status == TaskStatus.INPROGRESS
        )
        async with self._sessions() as session:
            started = list(await session.scalars(running))
        queue.running_started = [s.timestamp() for s in started if s is not None]
        queue.positions = {w.task_id: i + 1 for i, w in enumerate(order)}
        queue.workers = sum(kind in w.kinds for w in await live_workers(self._redis))
        queue.times = (await self._stats.times([kind]))[kind]
        queue.fetched_at = time.monotonic()
