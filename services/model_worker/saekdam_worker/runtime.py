"""The worker loop: take a message, claim its task, run the handler, write the outcome.

One job at a time per process (one pipeline per process, never shared across threads).
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
from .metrics import FENCED_WRITES, JOB_DURATION, RECLAIMED
from .models.manager import ModelManager
from .previews import PreviewTap
from .progress import ProgressRelay
from .reconciler import Reconciler
from .registry import handler_for, registered_kinds
from .settings import WorkerSettings

log = logging.getLogger(__name__)


class RunningJob:
    def __init__(self, delivery: Delivery, claim: Claim):
        self.delivery = delivery
        self.task = claim.task
        self.attempt = claim.task.attempt
        # Set when the job must stop: cancelled, lease lost, or shutting down.
        self.stop = threading.Event()
        self.released_for_shutdown = False
        self.ctx: JobContext | None = None

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
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="job")
        self._stats = stats
        self._dispatcher = dispatcher
        self._previews = previews
        self._stopping = asyncio.Event()
        self._running: RunningJob | None = None
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
                    for delivery in await self._next_deliveries():
                        if self._stopping.is_set():
                            await self._hand_back(delivery)
                        else:
                            await self._handle(delivery)
                except Exception:  # noqa: BLE001 - Redis or database blip: back off, go on
                    log.exception(
                        "worker loop error; retrying", extra={"worker_id": self.worker_id}
                    )
                    await asyncio.sleep(1.0)
        finally:
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._executor.shutdown(wait=False, cancel_futures=True)

    def request_stop(self) -> None:
        """SIGTERM: take no new job; give the running one a grace period, then release it."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        running = self._running
        if running is not None:
            log.info("stopping: waiting for the running job", extra=running.log_extra)
            asyncio.get_running_loop().call_later(
                self._settings.shutdown_grace_s, self._release_for_shutdown, running
            )

    def _release_for_shutdown(self, running: RunningJob) -> None:
        if self._running is running:
            running.released_for_shutdown = True
            running.stop.set()

    async def _hand_back(self, delivery: Delivery) -> None:
        """Read just as we were told to stop: put it back for another worker, at once."""
        if delivery.message is not None:
            await self._queue.enqueue(delivery.message)
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
            running = self._running
            if running is not None and running.task.id == task_id:
                log.info("cancel requested", extra=running.log_extra)
                running.stop.set()

    async def _reconcile_forever(self) -> None:
        while True:
            await asyncio.sleep(self._settings.reconcile_interval_s)
            try:
                await self._reconciler.sweep()
            except Exception:  # noqa: BLE001 - a failed sweep is retried next interval
                log.warning("reconciler sweep failed", exc_info=True)

    # -- one message ---------------------------------------------------------------------

    async def _handle(self, delivery: Delivery) -> None:
        message = delivery.message
        if message is None:
            log.error("malformed job message dead-lettered", extra={"worker_id": self.worker_id})
            await self._queue.dead_letter(delivery, "malformed_message")
            await self._queue.ack(delivery)
            return
        outcome = await self._store.claim(message.task_id, self.worker_id, self._settings.lease_s)
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
        await self._record_wait(outcome.task)
        running = RunningJob(delivery, outcome)
        self._running = running
        try:
            await self._run(running)
        finally:
            self._running = None

    async def _record_wait(self, task) -> None:
        """A first attempt's wait, submit to start (a retry's would count its backoff)."""
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

    async def _run(self, job: RunningJob) -> None:
        started = time.monotonic()
        log.info("job started", extra=job.log_extra)
        keeper = asyncio.create_task(self._keep_lease(job), name="lease-keeper")
        relay = ProgressRelay(lambda update: self._write_progress(job, update))
        try:
            outcome, event = await self._execute(job, relay)
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        if outcome == "abandoned" and job.released_for_shutdown:
            outcome, event = "released", await self._store.release(job.task.id, job.attempt)
        JOB_DURATION.labels(job.task.kind, outcome).observe(time.monotonic() - started)
        duration = round(time.monotonic() - started, 3)
        if outcome == "completed":
            await self._record(job.task.kind, "run", duration)
        log.info(
            f"job ended {job.where}",
            extra=job.log_extra | {"outcome": outcome, "duration_s": duration},
        )
        await self._settle(job, outcome, event)

    async def _execute(self, job: RunningJob, relay: ProgressRelay):
        """Run the handler; return (outcome, event to publish or None if the write was fenced)."""
        task = job.task
        tap = PreviewTap(task.id, self._previews, job.stop) if self._previews else None
        try:
            try:
                handler, params = self._prepare(task.kind, task.params)
                if job.attempt > 1:
                    await self._remove_earlier_results(task.id, job.attempt)
                ctx = job.ctx = JobContext(
                    task_id=task.id,
                    attempt=job.attempt,
                    inputs=[InputRef(**item) for item in task.inputs or []],
                    storage=self._storage,
                    report=relay.submit,
                    cancelled=job.stop,
                    models=self._models,
                    previews=tap,
                )
                loop = asyncio.get_running_loop()
                results = await loop.run_in_executor(self._executor, handler, ctx, params)
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

    async def _remove_earlier_results(self, task_id: str, attempt: int) -> None:
        """What earlier, dead attempts stored is not a result of this task. Only their own
        prefixes: a later attempt's stays, should this one turn out to be the zombie."""
        for earlier in range(1, attempt):
            await asyncio.to_thread(self._storage.delete_prefix, result_prefix(task_id, earlier))

    def _prepare(self, kind: str, raw_params: dict | None):
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
            job.stop.set()

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
                job.stop.set()
                return
