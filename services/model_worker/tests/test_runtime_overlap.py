"""The worker runtime in process, on real Redis and SQLite: the next job is prepared while
one runs but claimed only on its turn (its message kept meanwhile), results are finished
while the next runs, the pipeline runs one job at a time, and a stop, a cancel or another
worker's claim of a prefetched job neither runs it nor stalls the pipeline."""

import asyncio
import secrets
import threading
import time
from dataclasses import dataclass, field

import pytest
from redis.asyncio import Redis

from saekdam_backbone.db import create_engine, create_sessions
from saekdam_backbone.events import EventPublisher
from saekdam_backbone.queue import JobQueue
from saekdam_backbone.storage.local import LocalStorage
from saekdam_backbone.tasks.store import TaskStore
from saekdam_contracts.events import ResultItem
from saekdam_contracts.queue import JobMessage
from saekdam_contracts.status import TaskStatus
from saekdam_worker import registry
from saekdam_worker.reconciler import Reconciler
from saekdam_worker.registry import Handler
from saekdam_worker.runtime import Worker
from saekdam_worker.settings import WorkerSettings
from tests.fixtures.services import fresh_sqlite_database

KIND = "noop"
LEASE_S = 1.0
# Generous: a loaded 2-core machine may take seconds where an idle one takes milliseconds.
WAIT_S = 30


@dataclass
class Parts:
    store: TaskStore
    queue: JobQueue
    redis: Redis
    storage: LocalStorage
    owner: str = field(default_factory=lambda: f"u-{secrets.token_hex(4)}")


@pytest.fixture
async def parts(tmp_path, redis_url):
    engine = create_engine(fresh_sqlite_database(tmp_path))
    # A database of the Redis server's own: the module's streams start empty.
    redis = Redis.from_url(redis_url.rsplit("/", 1)[0] + "/7")
    await redis.flushdb()
    storage = LocalStorage(tmp_path / "storage", b"test-secret", "http://127.0.0.1")
    yield Parts(TaskStore(create_sessions(engine)), JobQueue(redis), redis, storage)
    await redis.flushdb()
    await redis.aclose()
    await engine.dispose()


class Script:
    """A noop handler whose parts record when they ran and wait where a test says."""

    def __init__(self):
        self.lock = threading.Lock()
        self.log: list[tuple[str, str, float]] = []  # (task id, part, time)
        self.gates: dict[tuple[str, str], threading.Event] = {}
        self.reached: dict[tuple[str, str], threading.Event] = {}

    def gate(self, task_id: str, part: str) -> threading.Event:
        return self.gates.setdefault((task_id, part), threading.Event())

    def reached_event(self, task_id: str, part: str) -> threading.Event:
        with self.lock:
            return self.reached.setdefault((task_id, part), threading.Event())

    def _mark(self, ctx, part: str) -> None:
        with self.lock:
            self.log.append((ctx.task_id, part, time.monotonic()))
        self.reached_event(ctx.task_id, part).set()
        gate = self.gates.get((ctx.task_id, part))
        while gate is not None and not gate.wait(0.02):
            ctx.check_cancelled()

    def prepare(self, ctx, params):
        ctx.plan(run=1)
        self._mark(ctx, "prepare")
        return params

    def run(self, ctx, params):
        self._mark(ctx, "run")
        with self.lock:
            self.log.append((ctx.task_id, "run-end", time.monotonic()))
        return params

    def finish(self, ctx, params) -> list[ResultItem]:
        self._mark(ctx, "finish")
        return [ctx.save_result("noop.txt", b"done", "text/plain", 1, 1)]

    def handler(self) -> Handler:
        return Handler(prepare=self.prepare, run=self.run, finish=self.finish)

    def times(self, task_id: str, part: str) -> float:
        return next(t for tid, p, t in self.log if tid == task_id and p == part)


@pytest.fixture
def script(monkeypatch) -> Script:
    script = Script()
    monkeypatch.setitem(registry._HANDLERS, KIND, script.handler())
    return script


async def _cancels_from(queue: asyncio.Queue):
    """The cancel broadcasts a worker hears: task ids put on `queue`."""
    while True:
        yield await queue.get()


def _worker(parts: Parts, cancels: asyncio.Queue | None = None, **overrides) -> Worker:
    settings = WorkerSettings(
        worker_id=f"w-{secrets.token_hex(3)}",
        worker_kinds=[KIND],
        lease_s=LEASE_S,
        prefetch_jobs=1,
        progress_interval_s=0,
        shutdown_grace_s=WAIT_S,
        **overrides,
    )
    reconciler = Reconciler(
        parts.store,
        parts.queue,
        parts.redis,
        owner=settings.worker_id,
        interval_s=60,
        grace_s=60,
        requeue_after_s=120,
    )
    return Worker(
        settings,
        parts.store,
        parts.queue,
        EventPublisher(parts.redis),
        parts.storage,
        reconciler,
        _cancels_from(cancels or asyncio.Queue()),
    )


async def _queued(parts: Parts) -> str:
    task = await parts.store.create(parts.owner, max_attempts=3)
    assert await parts.store.submit(task.id, parts.owner, KIND, {"steps": 1}, [])
    await parts.queue.enqueue(JobMessage(task_id=task.id, kind=KIND))
    return task.id


async def _until(event: threading.Event) -> None:
    assert await asyncio.to_thread(event.wait, WAIT_S), "timed out"


async def _until_task(parts: Parts, task_id: str, predicate):
    async with asyncio.timeout(WAIT_S):
        while True:
            task = await parts.store.get(task_id)
            if predicate(task):
                return task
            await asyncio.sleep(0.05)


async def _until_status(parts: Parts, task_id: str, status: TaskStatus):
    return await _until_task(parts, task_id, lambda task: task.status == status)


async def test_the_next_job_is_prepared_while_one_runs_and_claimed_only_on_its_turn(parts, script):
    first, second = await _queued(parts), await _queued(parts)
    script.gate(first, "run")  # the first job holds the pipeline until released
    worker = _worker(parts)
    running = asyncio.create_task(worker.run())
    try:
        await _until(script.reached_event(second, "prepare"))
        # Several leases long: still QUEUED and uncharged, and its message (like the running
        # job's) is kept touched, so another worker finds nothing to take over.
        await asyncio.sleep(LEASE_S * 3)
        waiting = await parts.store.get(second)
        assert waiting.status == TaskStatus.QUEUED
        assert waiting.attempt == 0 and waiting.charged_attempts == 0
        assert await parts.queue.reclaim("another-worker", [KIND], int(LEASE_S * 1000)) == []
        assert not script.reached_event(second, "run").is_set()

        script.gate(first, "run").set()
        done = [await _until_status(parts, t, TaskStatus.COMPLETED) for t in (first, second)]
    finally:
        worker.request_stop()
        await asyncio.wait_for(running, WAIT_S)

    assert [task.attempt for task in done] == [1, 1]
    # One job at a time on the pipeline: the second ran after the first's run ended.
    assert script.times(second, "run") >= script.times(first, "run-end")
    # Prepared once, ahead of its claim: the claim did not prepare it again.
    assert [p for tid, p, _ in script.log if tid == second].count("prepare") == 1


async def test_a_prefetched_job_cancelled_or_taken_meanwhile_never_runs_here_and_frees_the_turn(
    parts, script
):
    first, cancelled = await _queued(parts), await _queued(parts)
    script.gate(first, "run")
    cancels = asyncio.Queue()
    worker = _worker(parts, cancels)
    running = asyncio.create_task(worker.run())
    try:
        await _until(script.reached_event(cancelled, "prepare"))
        assert await parts.store.cancel(cancelled, parts.owner) is not None
        await cancels.put(cancelled)  # the API's broadcast
        taken = await _queued(parts)
        await _until(script.reached_event(taken, "prepare"))
        # Another worker claims it (its own message, say) while this one holds it prepared.
        assert await parts.store.claim(taken, "another-worker", 60) is not None
        script.gate(first, "run").set()
        await _until_status(parts, first, TaskStatus.COMPLETED)
        # The pipeline was given up both times: a later job still runs.
        later = await _queued(parts)
        await _until_status(parts, later, TaskStatus.COMPLETED)
    finally:
        script.gate(first, "run").set()
        worker.request_stop()
        await asyncio.wait_for(running, WAIT_S)
    assert not script.reached_event(cancelled, "run").is_set()
    assert not script.reached_event(taken, "run").is_set()
    assert (await parts.store.get(taken)).worker_id == "another-worker"


async def test_a_jobs_results_are_finished_while_the_next_job_runs(parts, script):
    first, second = await _queued(parts), await _queued(parts)
    # The first job's finish waits for the second's run: on one thread this never ends.
    finishing = script.gate(first, "finish")
    worker = _worker(parts)
    running = asyncio.create_task(worker.run())
    try:
        await _until(script.reached_event(second, "run"))
        assert (await parts.store.get(first)).status == TaskStatus.INPROGRESS
        finishing.set()
        for task_id in (first, second):
            task = await _until_status(parts, task_id, TaskStatus.COMPLETED)
            assert task.results[0]["key"] == f"results/{task_id}/1/noop.txt"
    finally:
        worker.request_stop()
        await asyncio.wait_for(running, WAIT_S)


async def test_a_stop_gives_the_prefetched_job_back_at_once_and_lets_the_running_one_end(
    parts, script
):
    first, second = await _queued(parts), await _queued(parts)
    holding = script.gate(first, "run")
    worker = _worker(parts)
    running = asyncio.create_task(worker.run())
    try:
        await _until(script.reached_event(second, "prepare"))
        worker.request_stop()
        # Never claimed, so nothing to release: still QUEUED, uncharged, and on the stream
        # again for another worker.
        released = await _until_task(parts, second, lambda task: task.enqueued_id is not None)
        assert released.status == TaskStatus.QUEUED
        assert released.attempt == 0 and released.charged_attempts == 0
        assert await parts.queue.contains(KIND, released.enqueued_id)
        assert (await parts.store.get(first)).status == TaskStatus.INPROGRESS
        holding.set()
        await _until_status(parts, first, TaskStatus.COMPLETED)
    finally:
        holding.set()
        await asyncio.wait_for(running, WAIT_S)
    assert not script.reached_event(second, "run").is_set()


async def test_a_job_that_stops_reporting_on_the_pipeline_ends_the_worker_through_its_heartbeat(
    parts, script, tmp_path
):
    from saekdam_worker.liveness import EXIT_STALLED, Heartbeat, problem

    wedged = await _queued(parts)
    gate = script.gate(wedged, "run")  # the pipeline hangs here: no more progress
    worker = _worker(parts)
    exits: list[int] = []
    heartbeat = Heartbeat(
        tmp_path / "alive", worker, every_s=0.1, job_stall_s=0.5, exit=exits.append
    )
    running = asyncio.create_task(worker.run())
    try:
        assert heartbeat.beat() == [] and problem(tmp_path / "alive", 5) is None
        await _until(script.reached_event(wedged, "run"))
        assert worker.stalled_jobs(time.monotonic(), 60) == []  # quiet, not yet for long
        await asyncio.sleep(0.6)
        (stalled,) = heartbeat.beat()
        assert stalled[0] == wedged and stalled[1] >= 0.5
        assert exits == [EXIT_STALLED]
        assert f"job {wedged} has reported no progress" in problem(tmp_path / "alive", 5)
    finally:
        gate.set()
        worker.request_stop()
        await asyncio.wait_for(running, WAIT_S)
