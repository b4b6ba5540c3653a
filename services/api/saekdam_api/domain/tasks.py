"""Task lifecycle on the API side: create, submit (verify, then enqueue once), cancel, read."""

import logging
from datetime import datetime

from pydantic import ValidationError

from saekdam_backbone.dependencies import is_dependency_failure
from saekdam_backbone.events import EventPublisher
from saekdam_backbone.queue import JobQueue
from saekdam_backbone.storage.base import ObjectStorage
from saekdam_backbone.tasks.models import Task
from saekdam_backbone.tasks.store import ActiveCapReached, TaskStore
from saekdam_backbone.tasks.view import public_results, task_view
from saekdam_contracts.events import PublicResult, ResultItem, TaskEvent
from saekdam_contracts.jobs import JOB_SPECS, JobSpec, Params
from saekdam_contracts.queue import JobMessage
from saekdam_contracts.status import TaskStatus
from saekdam_contracts.tasks import TaskView
from saekdam_web.errors import Conflict, NotFound, TooManyRequests, Unprocessable
from saekdam_web.paging import decode_cursor, encode_cursor

from ..metrics import TASKS_SUBMITTED
from ..settings import ApiSettings
from .inputs import verify_task_inputs
from .uploads import UploadService

log = logging.getLogger(__name__)


class TaskService:
    def __init__(
        self,
        store: TaskStore,
        uploads: UploadService,
        queue: JobQueue,
        publisher: EventPublisher,
        storage: ObjectStorage,
        settings: ApiSettings,
    ):
        self._store = store
        self._uploads = uploads
        self._queue = queue
        self._publisher = publisher
        self._storage = storage
        self._settings = settings

    async def create(self, owner_id: str) -> Task:
        return await self._store.create(owner_id, max_attempts=self._settings.max_attempts)

    async def get(self, task_id: str, owner_id: str) -> Task:
        """The owner's task; anyone else gets the same 404 as for a task that does not exist."""
        task = await self._store.get_owned(task_id, owner_id)
        if task is None:
            raise NotFound("task_not_found", f"no task {task_id}")
        return task

    async def request_upload(
        self, task_id: str, owner_id: str, role: str, content_type: str, size: int
    ):
        return await self._uploads.create_for_task(owner_id, task_id, role, content_type, size)

    async def submit(
        self, task_id: str, owner_id: str, kind: str, params: dict, is_guest: bool = False
    ) -> TaskStatus:
        task = await self.get(task_id, owner_id)
        spec = self._spec(kind)
        parsed = self._validate_params(spec, params)
        clean_params = parsed.model_dump(mode="json")
        if task.status != TaskStatus.CREATED:
            return self._resubmitted(task, kind, clean_params)
        cap = self._active_cap(is_guest)
        if await self._store.count_active(owner_id) >= cap:  # before the costly verification
            raise _too_many_active(cap)

        uploads = await self._uploads.for_task(task_id)
        needs = parsed.required_uploads() or spec.inputs
        inputs = await verify_task_inputs(
            spec, needs, uploads, self._storage, self._uploads.decodes
        )
        try:
            event = await self._store.submit(
                task_id, owner_id, kind, clean_params, inputs, active_cap=cap
            )
        except ActiveCapReached:  # concurrent submits took the last places meanwhile
            raise _too_many_active(cap) from None
        if event is None:  # a concurrent submit won the race; it enqueued the one job
            return self._resubmitted(await self.get(task_id, owner_id), kind, clean_params)
        # Committed: from here on Redis is told on a best-effort basis (the reconciler puts a
        # task the stream never heard of on it; websockets resync from the row).
        await self._after_commit("submit event", self._publisher.publish(event))
        if self._settings.queue_order == "fair":
            # Its turn comes from the dispatcher, which also looks without being woken.
            await self._after_commit("dispatch wake-up", self._publisher.request_dispatch())
        else:
            await self._after_commit("enqueue", self._enqueue(task_id, kind))
        TASKS_SUBMITTED.labels(kind).inc()
        return event.status

    async def cancel(self, task_id: str, owner_id: str) -> TaskStatus:
        task = await self.get(task_id, owner_id)
        event = await self._store.cancel(task_id, owner_id)
        if event is None:
            return TaskStatus((await self.get(task_id, owner_id)).status)
        # Committed: a worker running it sees the cancel in the row at its next progress write
        # even when this broadcast is lost.
        await self._after_commit("cancel event", self._publisher.publish(event))
        await self._after_commit("cancel broadcast", self._publisher.request_cancel(task.id))
        log.info("task cancelled", extra={"task_id": task.id})
        return event.status

    @staticmethod
    async def _after_commit(what: str, call) -> None:
        """A Redis call after the task's row is committed: its failure must not turn a done
        write into an error (the client would retry something that happened)."""
        try:
            await call
        except Exception as error:  # noqa: BLE001 - logged; the row is the truth
            if not is_dependency_failure(error):
                raise
            log.warning("%s not sent after commit: %s", what, error)

    async def list_page(
        self, owner_id: str, limit: int, cursor: str | None
    ) -> tuple[list[TaskView], str | None]:
        """The owner's tasks newest first, and the cursor of the next page (None: no more).
        Keyset paging on (created_at, id): tasks created meanwhile never shift a page."""
        after = decode_cursor(cursor, datetime, str) if cursor is not None else None
        rows = await self._store.list_page(owner_id, limit + 1, after)
        more, rows = len(rows) > limit, rows[:limit]
        views = [await self.view(row) for row in rows]
        return views, encode_cursor(rows[-1].created_at, rows[-1].id) if more else None

    async def public_results(
        self, results: list[dict] | list[ResultItem] | None
    ) -> list[PublicResult] | None:
        return await public_results(results, self._storage, self._settings.download_expires_s)

    async def view(self, task: Task) -> TaskView:
        """The task as its owner reads it, with short-lived result URLs."""
        return await task_view(task, self._storage, self._settings.download_expires_s)

    async def public_frame(self, event: TaskEvent) -> dict:
        """The event as a client sees it: storage keys swapped for download URLs."""
        frame = event.model_dump(exclude_none=True, exclude={"results"})
        if event.results is not None:
            frame["results"] = [r.model_dump() for r in await self.public_results(event.results)]
        return frame

    # -- helpers -------------------------------------------------------------------------

    def _active_cap(self, is_guest: bool) -> int:
        """One person's share of the queue: at most this many tasks QUEUED or INPROGRESS.
        Checked early, and exactly by the store's submit (under the owner's lock)."""
        return (
            self._settings.max_active_tasks_guest
            if is_guest
            else self._settings.max_active_tasks_registered
        )

    def _spec(self, kind: str) -> JobSpec:
        spec = JOB_SPECS.get(kind)
        if spec is None or (spec.diagnostic and not self._settings.enable_diagnostic_jobs):
            known = sorted(k for k, s in JOB_SPECS.items() if not s.diagnostic)
            raise Unprocessable("unknown_kind", f"unknown job kind {kind!r}; known: {known}")
        return spec

    @staticmethod
    def _validate_params(spec: JobSpec, params: dict) -> Params:
        try:
            return spec.params.model_validate(params)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'params'}: {e['msg']}"
                for e in exc.errors()
            )
            raise Unprocessable(
                "invalid_params", f"{spec.kind} params are invalid: {problems}"
            ) from exc

    @staticmethod
    def _resubmitted(task: Task, kind: str, params: dict) -> TaskStatus:
        if task.kind != kind or task.params != params:
            raise Conflict(
                "task_already_submitted",
                f"task {task.id} was already submitted as a {task.kind} job with other params",
            )
        return TaskStatus(task.status)

    async def _enqueue(self, task_id: str, kind: str) -> None:
        # If we die before this, the task stays QUEUED with no enqueue mark and the
        # worker-side reconciler puts it on the stream.
        message_id = await self._queue.enqueue(JobMessage(task_id=task_id, kind=kind))
        await self._store.mark_enqueued(task_id, message_id)


def _too_many_active(cap: int) -> TooManyRequests:
    return TooManyRequests(
        "too_many_active_tasks",
        f"at most {cap} of your tasks may be queued or running at once; "
        "wait for one to finish or cancel one",
    )
