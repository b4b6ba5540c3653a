"""The worker loop: take a message, claim its task, run the handler, write the outcome.

One job at a time on the pipeline (one pipeline per process, one thread for it), but with
`prefetch_jobs` > 0 the jobs on either side overlap it so the GPU never waits on the CPU:
while job N runs, job N+1's inputs are prepared on another thread, and job N-1's results
are encoded, stored and written on a third. A prefetched job is not claimed until it holds
the pipeline: its task stays QUEUED and uncharged while it waits (only its stream message,
kept touched, says this worker has it), so a worker killed meanwhile costs it no attempt;
the message is reclaimed like any dead worker's and the job runs elsewhere as attempt 1.

Every write is fenced by the attempt number in the task store, so a worker that was
paused or cut off can never overwrite what the attempt after it did.
"""

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from pydantic import ValidationError

from saekdam_backbone.events import EventPublisher
from saekdam_backbone.previews import PreviewBus
from saekdam_backbone.queue import Delivery, JobQueue
from saekdam_backbone.queue_stats import QueueStats
from saekdam_backbone.storage.base import ObjectStorage
from saekdam_backbone.tasks.store import Claim, Exhausted, TaskStore
from saekdam_contracts.jobs import JOB_SPECS
from saekdam_contracts.keys import result_prefix
from saekdam_contracts.queue import JobMessage
from saekdam_contracts.status import TERMINAL_STATUSES, TaskStatus

from .context import InputRef, JobContext, ProgressUpdate
from .dispatcher import Dispatcher
from .errors import JobAbandoned, JobError, TransientJobError
from .metrics import FENCED_WRITES, JOB_DURATION, JOB_STAGE_SECONDS, PIPELINE_BUSY, RECLAIMED
from .models.manager import ModelManager
from .previews import PreviewTap
from .progress import ProgressRelay
from .reconciler import Reconciler
from .registry import Handler, handler_for, registered_kinds
from .settings import WorkerSettings

log = logging.getLogger(__name__)


class _Stoppable:
    def __init__(self):
        # Set when the job must stop: cancelled, lease lost, or shutting down.
        self.stop = threading.Event()
        self.halted = asyncio.Event()  # the same, for the event loop to wait on
        self.holds_pipeline = False

    def halt(self) -> None:
        """Stop the job (from the event loop): its thread sees `stop`, the loop `halted`."""
        self.stop.set()
        self.halted.set()


class Ahead(_Stoppable):
    """A job prepared before its claim (prefetch). Its task is still QUEUED and uncharged;
    once `prepared` is set and it holds the pipeline, it is claimed and runs."""

    def __init__(self, task_id: str):
        super().__init__()
        self.task_id = task_id
        self.ctx: JobContext | None = None
        self.prepared = None


class RunningJob(_Stoppable):
    def __init__(self, delivery: Delivery, claim: Claim, ahead: Ahead | None = None):
        super().__init__()
        self.delivery = delivery
        self.task = claim.task
        self.attempt = claim.task.attempt
        # Prepared before its claim, already holding the pipeline (see `Ahead`).
        self.ahead = ahead
        if ahead is not None:
            self.stop, self.halted = ahead.stop, ahead.halted  # its context watches these
            self.holds_pipeline, ahead.holds_pipeline = ahead.holds_pipeline, False
        self.released_for_shutdown = False
        self.ctx: JobContext | None = None
        # "waiting" (claimed, being prepared or waiting for the pipeline), "running" (on
        # the pipeline) or "finishing" (results being stored and written).
        self.phase = "waiting"
        self.turn_began: float | None = None

    @property
    def where(self) -> str:
        """Where the job got to, for the log: the last stage and step it reported."""
        update = self.ctx.last_update if self.ctx is not None else None
        if update is None:
            return "before its first step"
        return f"at {update.stage} step {update.step}" if update.step else f"at {update.stage}"

    @property
    def log_extra(self) -> dict:
        return {"task_id": self.task.id, "attempt": self.attempt, "kind": self.task.kind}


class Worker:
    def __init__(
        self,
        settings: WorkerSettings,
        store: TaskStore,
        queue: JobQueue,
        publisher: EventPublisher,
        storage: ObjectStorage,
        reconciler: Reconciler,
        cancels: AsyncIterator[str],
        models: ModelManager | None = None,
        stats: QueueStats | None = None,
        previews: PreviewBus | None = None,
        dispatcher: Dispatcher | None = None,
    ):
        self._settings = settings
        self._store, self._queue, self._publisher, self._storage = store, queue, publisher, storage
        self._reconciler = reconciler
        self._cancels = cancels
        self._models = models
        self._kinds = settings.worker_kinds or registered_kinds()
        # The pipeline's thread (a GPU pipeline is never shared across threads), and one
        # each for preparing the next job and finishing the last one.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="job")
        self._preparer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare")
        self._finisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="finish")
        self._pipeline = asyncio.Lock()
        # Jobs read but not yet on the pipeline; and every job in flight (waiting, running,
        # finishing), so a slow finish holds back reads instead of piling up results.
        # prefetch_jobs=0: one job in flight, so the next is read after this one's outcome.
        waiting = max(settings.prefetch_jobs, 1)
        self._waiting_room = asyncio.Semaphore(waiting)
        self._in_flight_room = asyncio.Semaphore(waiting + 2 if settings.prefetch_jobs else 1)
        self._stats = stats
        self._dispatcher = dispatcher
        self._previews = previews
        self._stopping = asyncio.Event()
        self._jobs: dict[str, RunningJob] = {}
        self._ahead: dict[str, Ahead] = {}
        self._handling: set[asyncio.Task] = set()
        self._background: set[asyncio.Task] = set()
        self._last_reclaim = 0.0

    @property
    def kinds(self) -> list[str]:
        return list(self._kinds)

    @property
    def worker_id(self) -> str:
        return self._settings.worker_id

    # -- lifecycle -----------------------------------------------------------------------

    async def run(self) -> None:
        await self._queue.ensure_groups(self._kinds)
        log.info("worker ready", extra={"worker_id": self.worker_id, "kind": ",".join(self._kinds)})
        sweeper = asyncio.create_task(self._reconcile_forever(), name="reconciler")
        listener = asyncio.create_task(self._hear_cancels(), name="cancel-listener")
        background = [sweeper, listener]
        if self._dispatcher is not None:
            background.append(asyncio.create_task(self._dispatcher.run_forever(), name="dispatch"))
        try:
            while not self._stopping.is_set():
                try:
                    await self._take_next()
                except Exception:  # noqa: BLE001 - Redis or database blip: back off, go on
                    log.exception(
                        "worker loop error; retrying", extra={"worker_id": self.worker_id}
                    )
                    await asyncio.sleep(1.0)
            # Let every job in flight end (the running one within the shutdown grace).
            await asyncio.gather(*self._handling, return_exceptions=True)
        finally:
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            for executor in (self._executor, self._preparer, self._finisher):
                executor.shutdown(wait=False, cancel_futures=True)

    async def _take_next(self) -> None:
        """Wait for room, read one message and start handling it beside the jobs in flight."""
        await self._in_flight_room.acquire()
        await self._waiting_room.acquire()
        handed_over = False
        try:
            if self._stopping.is_set():
                return
            for delivery in await self._next_deliveries():
                if handed_over or self._stopping.is_set():
                    await self._hand_back(delivery)
                    continue
                # The handling task owns both places from here and gives them back itself.
                _spawn(self._handle(delivery), self._handling)
                handed_over = True
        finally:
            if not handed_over:
                self._waiting_room.release()
                self._in_flight_room.release()

    def stalled_jobs(self, now: float, quiet_s: float) -> list[tuple[str, float]]:
        """Jobs on the pipeline that have reported nothing for `quiet_s` seconds (`now` on the
        monotonic clock): (task id, seconds quiet). The liveness heartbeat ends a worker
        with one, so its lease lapses and another worker takes the job over."""
        stalled = []
        for job in self._jobs.values():
            if job.phase == "running" and job.ctx is not None:
                quiet = now - job.ctx.last_report_at
                if quiet >= quiet_s:
                    stalled.append((job.task.id, round(quiet, 1)))
        return stalled

    def request_stop(self) -> None:
        """SIGTERM: take no new job; give a job waiting for the pipeline back at once, the
        running one a grace period (then it is given back too); let finishing ones end."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        for ahead in list(self._ahead.values()):
            ahead.halt()  # unclaimed: handed back to the stream by its handler
        for job in list(self._jobs.values()):
            if job.phase == "waiting":
                self._release_for_shutdown(job)
            elif job.phase == "running":
                log.info("stopping: waiting for the running job", extra=job.log_extra)
                asyncio.get_running_loop().call_later(
                    self._settings.shutdown_grace_s, self._release_for_shutdown, job
                )

    def _release_for_shutdown(self, job: RunningJob) -> None:
        if self._jobs.get(job.task.id) is job and job.phase != "finishing":
            job.released_for_shutdown = True
            job.halt()

    async def _hand_back(self, delivery: Delivery, *, mark: bool = False) -> None:
        """Read just as we were told to stop: put it back for another worker, at once.
        `mark`: the task is known QUEUED for this message, so record the new one."""
        if delivery.message is not None:
            message_id = await self._queue.enqueue(delivery.message)
            if mark:
                await self._store.mark_enqueued(delivery.message.task_id, message_id)
        await self._queue.ack(delivery)

    async def _next_deliveries(self) -> list[Delivery]:
        now = time.monotonic()
        if now - self._last_reclaim >= self._settings.lease_s / 4:
            self._last_reclaim = now
            reclaimed = await self._queue.reclaim(
                self.worker_id, self._kinds, int(self._settings.lease_s * 1000)
            )
            if reclaimed:
                RECLAIMED.inc(len(reclaimed))
                return reclaimed
        return await self._queue.read(self.worker_id, self._kinds, count=1, block_ms=1000)

    async def _hear_cancels(self) -> None:
        async for task_id in self._cancels:
            job = self._jobs.get(task_id) or self._ahead.get(task_id)
            if job is not None:
                log.info("cancel requested", extra={"task_id": task_id})
                job.halt()

    async def _reconcile_forever(self) -> None:
        while True:
            await asyncio.sleep(self._settings.reconcile_interval_s)
            try:
                await self._reconciler.sweep()
            except Exception:  # noqa: BLE001 - a failed sweep is retried next interval
                log.warning("reconciler sweep failed", exc_info=True)

    # -- one message ---------------------------------------------------------------------

    async def _handle(self, delivery: Delivery) -> None:
        """Holds a place in both rooms from the loop; gives the waiting one back when the
        job reaches the pipeline (or ends before it), the other when it is settled."""
        waiting_place = _Place(self._waiting_room)
        try:
            await self._claim_and_run(delivery, waiting_place)
        except Exception:  # noqa: BLE001 - a blip between writes: the lease lapses, reclaim
            log.exception("job handling failed", extra={"worker_id": self.worker_id})
        finally:
            waiting_place.give_back()
            self._in_flight_room.release()

    async def _claim_and_run(self, delivery: Delivery, waiting_place: "_Place") -> None:
        message = delivery.message
        if message is None:
            log.error("malformed job message dead-lettered", extra={"worker_id": self.worker_id})
            await self._queue.dead_letter(delivery, "malformed_message")
            await self._queue.ack(delivery)
            return
        ahead = None
        if self._settings.prefetch_jobs:
            ahead = await self._prepare_ahead(delivery, waiting_place)
            if ahead is _HANDED_BACK:
                return
        try:
            outcome = await self._store.claim(
                message.task_id, self.worker_id, self._settings.lease_s
            )
        except BaseException:
            if ahead is not None:
                self._leave_pipeline(ahead)
            raise
        if ahead is not None and not isinstance(outcome, Claim):
            self._leave_pipeline(ahead)  # cancelled or taken meanwhile: the next job's turn
        if isinstance(outcome, Exhausted):
            await self._publisher.publish(outcome.event)
            await self._queue.dead_letter(delivery, "max_attempts_exceeded")
            log.warning("task failed after its last attempt", extra={"task_id": message.task_id})
        if not isinstance(outcome, Claim):
            # Finished, cancelled, running under a live lease elsewhere, or a retry not yet
            # due (the reconciler enqueues it again when it is): nothing for us to do.
            await self._queue.ack(delivery)
            return
        await self._publisher.publish(outcome.event)
        if self._dispatcher is not None:
            self._dispatcher.wake()  # a place on the stream just freed up
        job = RunningJob(delivery, outcome, ahead)
        self._jobs[job.task.id] = job
        if self._stopping.is_set():  # claimed just as we were told to stop
            self._release_for_shutdown(job)
        try:
            await self._run(job, waiting_place)
        finally:
            self._leave_pipeline(job)  # if it never got as far as its run
            del self._jobs[job.task.id]

    async def _record_wait(self, task) -> None:
        """A first attempt's wait, submit to its turn on the pipeline (a retry's would count
        its backoff)."""
        if task.attempt == 1 and task.submitted_at is not None:
            waited = (datetime.now(UTC) - task.submitted_at).total_seconds()
            await self._record(task.kind, "wait", waited)

    async def _record(self, kind: str, metric: str, seconds: float) -> None:
        # Queue ETAs are an estimate: a lost sample must never cost a job.
        if self._stats is None:
            return
        try:
            await self._stats.record(kind, metric, seconds)
        except Exception:  # noqa: BLE001
            log.warning("could not record queue timing", exc_info=True)

    async def _run(self, job: RunningJob, waiting_place: "_Place") -> None:
        started = time.monotonic()
        log.info("job started", extra=job.log_extra)
        # From the claim on, a prefetched job's lease is kept like a running one's.
        keeper = asyncio.create_task(self._keep_lease(job), name="lease-keeper")
        relay = ProgressRelay(
            lambda update: self._write_progress(job, update),
            min_interval_s=self._settings.progress_interval_s,
        )
        try:
            outcome, event = await self._execute(job, relay, waiting_place)
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        if outcome == "abandoned" and job.released_for_shutdown:
            outcome, event = "released", await self._store.release(job.task.id, job.attempt)
        JOB_DURATION.labels(job.task.kind, outcome).observe(time.monotonic() - started)
        duration = round(time.monotonic() - started, 3)
        if outcome == "completed" and job.turn_began is not None:
            # From its turn on the pipeline: a prefetched job's wait for it is not its run.
            await self._record(job.task.kind, "run", time.monotonic() - job.turn_began)
        log.info(
            f"job ended {job.where}",
            extra=job.log_extra | {"outcome": outcome, "duration_s": duration},
        )
        await self._settle(job, outcome, event)

    async def _execute(self, job: RunningJob, relay: ProgressRelay, waiting_place: "_Place"):
        """Run the handler; return (outcome, event to publish or None if the write was fenced)."""
        task = job.task
        tap = PreviewTap(task.id, self._previews, job.stop) if self._previews else None
        try:
            try:
                handler, params = self._resolve(task.kind, task.params)
                if job.attempt > 1:
                    await self._remove_earlier_results(task.id, job.attempt)
                if job.ahead is not None:
                    ctx = job.ctx = job.ahead.ctx
                    ctx.bind(job.attempt, relay.submit)
                    ctx.previews = tap
                else:
                    ctx = job.ctx = self._context(task, job.attempt, relay.submit, job.stop, tap)
                results = await self._stages(job, handler, ctx, params, waiting_place)
            finally:
                await relay.close()
                if tap is not None:
                    tap.close()  # without waiting: a preview never delays the outcome
            if job.stop.is_set() and not job.released_for_shutdown:
                raise JobAbandoned("stopped after the last step")
            return "completed", await self._store.complete(task.id, job.attempt, results)
        except JobAbandoned:
            return "abandoned", None
        except TransientJobError as exc:
            return "retried", await self._retry_or_fail(job, exc.code, exc.message)
        except JobError as exc:
            return "failed", await self._store.fail(task.id, job.attempt, exc.code, exc.message)
        except Exception:  # noqa: BLE001 - an unexpected error is retried, then fails the task
            log.exception("job raised an unexpected error", extra=job.log_extra)
            return "retried", await self._retry_or_fail(
                job, "internal_error", "the job failed unexpectedly; it was retried"
            )

    def _context(self, task, attempt: int, report, stop: threading.Event, previews=None):
        return JobContext(
            task_id=task.id,
            attempt=attempt,
            inputs=[InputRef(**item) for item in task.inputs or []],
            storage=self._storage,
            report=report,
            cancelled=stop,
            models=self._models,
            previews=previews,
        )

    async def _prepare_ahead(self, delivery: Delivery, waiting_place: "_Place"):
        """Prepare a QUEUED task's job without claiming it, then wait for the pipeline.

        Returns the `Ahead`, holding the pipeline, to be claimed now; None when there is
        nothing to do ahead (not QUEUED, a bad job, a failed or cancelled prepare: the
        claim then decides, and a failure is prepared again and reported under an attempt);
        `_HANDED_BACK` when stopping gave the message back to the stream."""
        task = await self._store.get(delivery.message.task_id)
        if task is None or task.status != TaskStatus.QUEUED:
            return None
        try:
            handler, params = self._resolve(task.kind, task.params)
        except JobError:
            return None
        ahead = self._ahead[task.id] = Ahead(task.id)
        # Its attempt as the claim will most likely number it; the claim's own is bound later.
        ahead.ctx = self._context(task, task.attempt + 1, _drop_progress, ahead.stop)
        toucher = asyncio.create_task(self._keep_touched(delivery), name="message-toucher")
        try:
            try:
                ahead.prepared = await self._timed(
                    task.kind, "prepare", self._preparer, handler.prepare, ahead.ctx, params
                )
            except Exception:  # noqa: BLE001 - prepared again under the claim, reported there
                ahead.prepared = None
            queued_at = time.monotonic()
            if ahead.prepared is None or not await self._turn_on_pipeline(ahead):
                if self._stopping.is_set():
                    await self._hand_back(delivery, mark=True)
                    return _HANDED_BACK
                return None
            JOB_STAGE_SECONDS.labels(task.kind, "wait").observe(time.monotonic() - queued_at)
            waiting_place.give_back()  # the next job may be read and prepared now
            return ahead
        finally:
            toucher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await toucher
            del self._ahead[task.id]

    async def _keep_touched(self, delivery: Delivery) -> None:
        """While a job waits unclaimed, keep its message from looking abandoned."""
        while True:
            await asyncio.sleep(self._settings.lease_s / 3)
            try:
                await self._queue.touch(self.worker_id, delivery)
            except Exception:  # noqa: BLE001 - keep trying; if it persists it is reclaimed
                log.warning("message touch failed", extra={"worker_id": self.worker_id})

    async def _remove_earlier_results(self, task_id: str, attempt: int) -> None:
        """What earlier, dead attempts stored is not a result of this task. Only their own
        prefixes: a later attempt's stays, should this one turn out to be the zombie."""
        for earlier in range(1, attempt):
            await asyncio.to_thread(self._storage.delete_prefix, result_prefix(task_id, earlier))

    async def _stages(
        self, job: RunningJob, handler: Handler, ctx: JobContext, params, waiting_place: "_Place"
    ):
        """prepare (its own thread) -> run (the pipeline's thread, one job at a time) ->
        finish (its own thread), each timed; a job stopped before its turn never runs."""
        kind = job.task.kind
        if job.ahead is not None:  # prepared before its claim, and holding the pipeline
            prepared = job.ahead.prepared
        else:
            prepared = await self._timed(
                kind, "prepare", self._preparer, handler.prepare, ctx, params
            )
            queued_at = time.monotonic()
            if not await self._turn_on_pipeline(job):
                raise JobAbandoned("stopped before its turn on the pipeline")
            JOB_STAGE_SECONDS.labels(kind, "wait").observe(time.monotonic() - queued_at)
        try:
            waiting_place.give_back()  # the next job may be read and prepared now
            job.phase, job.turn_began = "running", time.monotonic()
            _spawn(self._record_wait(job.task), self._background)
            output = await self._timed(kind, "run", self._executor, handler.run, ctx, prepared)
        finally:
            if job.turn_began is not None:
                PIPELINE_BUSY.inc(time.monotonic() - job.turn_began)
            job.phase = "finishing"
            self._leave_pipeline(job)
        return await self._timed(kind, "finish", self._finisher, handler.finish, ctx, output)

    async def _turn_on_pipeline(self, job: "RunningJob | Ahead") -> bool:
        """Wait for the pipeline, holding it on True; False if the job was stopped first
        (cancelled, or given back on shutdown), which must not wait for the running job."""
        if job.halted.is_set():
            return False
        acquiring = asyncio.create_task(self._pipeline.acquire())
        halted = asyncio.create_task(job.halted.wait())
        try:
            await asyncio.wait({acquiring, halted}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            halted.cancel()
            if not acquiring.done():
                acquiring.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await acquiring
        if acquiring.cancelled():
            return False
        job.holds_pipeline = True
        if job.halted.is_set():  # both at once: the stop wins
            self._leave_pipeline(job)
            return False
        return True

    def _leave_pipeline(self, job: "RunningJob | Ahead") -> None:
        if job.holds_pipeline:
            job.holds_pipeline = False
            self._pipeline.release()

    @staticmethod
    async def _timed(kind: str, stage: str, executor, fn, *args):
        began = time.monotonic()
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)
        finally:
            JOB_STAGE_SECONDS.labels(kind, stage).observe(time.monotonic() - began)

    def _resolve(self, kind: str, raw_params: dict | None):
        handler, spec = handler_for(kind), JOB_SPECS.get(kind)
        if handler is None or spec is None:
            raise JobError("unsupported_kind", f"this worker cannot run {kind!r} jobs")
        try:
            return handler, spec.params.model_validate(raw_params or {})
        except ValidationError as exc:
            raise JobError("invalid_params", f"stored params are invalid: {exc}") from exc

    async def _retry_or_fail(self, job: RunningJob, code: str, message: str):
        task = job.task
        if task.charged_attempts >= task.max_attempts:
            await self._queue.dead_letter(job.delivery, code)
            return await self._store.fail(task.id, job.attempt, code, message)
        delay = min(
            self._settings.retry_base_s * 2 ** (task.charged_attempts - 1),
            self._settings.retry_max_s,
        )
        return await self._store.retry_later(task.id, job.attempt, delay, code, message)

    async def _settle(self, job: RunningJob, outcome: str, event) -> None:
        if event is not None:
            await self._publisher.publish(event)
            if outcome == "released":
                # Straight back on the stream so another worker picks it up now.
                message = JobMessage(task_id=job.task.id, kind=job.task.kind)
                await self._store.mark_enqueued(job.task.id, await self._queue.enqueue(message))
            await self._queue.ack(job.delivery)
            return
        # Our write was refused: cancelled, or another attempt owns the task now.
        FENCED_WRITES.inc()
        log.warning("job is no longer ours; its writes were refused", extra=job.log_extra)
        current = await self._store.get(job.task.id)
        # A write that committed but raised on the way back leaves the task ours and done.
        ours_completed = (
            current is not None
            and current.status == TaskStatus.COMPLETED
            and current.attempt == job.attempt
        )
        if not ours_completed:
            prefix = result_prefix(job.task.id, job.attempt)
            await asyncio.to_thread(self._storage.delete_prefix, prefix)
        if current is None or current.status in TERMINAL_STATUSES:
            await self._queue.ack(job.delivery)
        # Otherwise the newer attempt holds this message and acknowledges it itself.

    # -- while a job runs ----------------------------------------------------------------

    async def _write_progress(self, job: RunningJob, update: ProgressUpdate) -> None:
        if job.stop.is_set():
            return
        try:
            event = await self._store.report_progress(
                job.task.id,
                job.attempt,
                progress=update.progress,
                stage=update.stage,
                step=update.step,
                total_steps=update.total_steps,
                eta_s=round(update.eta_s, 2) if update.eta_s is not None else None,
            )
            if event is not None:
                await self._publisher.publish(event)
        except Exception:  # noqa: BLE001 - progress is best effort; the job goes on
            log.warning("progress write failed", extra=job.log_extra, exc_info=True)
            return
        if event is None:
            job.halt()

    async def _keep_lease(self, job: RunningJob) -> None:
        while True:
            await asyncio.sleep(self._settings.lease_s / 3)
            try:
                still_ours = await self._store.renew_lease(
                    job.task.id, job.attempt, self._settings.lease_s
                )
                if still_ours:
                    await self._queue.touch(self.worker_id, job.delivery)
            except Exception:  # noqa: BLE001 - keep trying; if it persists the lease lapses
                log.warning("lease renewal failed", extra=job.log_extra, exc_info=True)
                continue
            if not still_ours:
                job.halt()
                return


class _Place:
    """A place taken in a semaphore, given back exactly once, whoever gets there first."""

    def __init__(self, room: asyncio.Semaphore):
        self._room: asyncio.Semaphore | None = room

    def give_back(self) -> None:
        if self._room is not None:
            self._room.release()
            self._room = None


_HANDED_BACK = object()  # `_prepare_ahead`: the message went back to the stream


def _drop_progress(_update: ProgressUpdate) -> None:
    """Progress of a job not yet claimed: there is no attempt to write it under."""


def _spawn(coro, keep: set[asyncio.Task]) -> None:
    """Start `coro` as a task held in `keep` until it is done (the loop holds tasks weakly)."""
    task = asyncio.create_task(coro)
    keep.add(task)
    task.add_done_callback(keep.discard)
