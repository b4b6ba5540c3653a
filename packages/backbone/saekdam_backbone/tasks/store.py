"""Fenced task state transitions.

Every transition is one UPDATE ... WHERE <guard> RETURNING: the guard names the status the
task must be in and, for worker writes, the attempt that owns it. A write whose guard no
longer holds (a zombie worker after its lease was taken over, anything after a terminal
state) changes nothing and returns None. Each successful change bumps `seq` by one and
returns the TaskEvent the caller publishes.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, Row, and_, case, func, insert, literal, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from saekdam_contracts.events import ErrorInfo, FrameType, ResultItem, TaskEvent
from saekdam_contracts.status import TERMINAL_STATUSES, TaskStatus

from ..db import db_epoch, lock_for_count, single_statements, utcnow
from ..fairness import Waiting
from ..users import User
from .models import Task

ACTIVE = (TaskStatus.CREATED, TaskStatus.QUEUED, TaskStatus.INPROGRESS)
# Tasks that hold a place in the queue or a worker.
RUNNABLE = (TaskStatus.QUEUED, TaskStatus.INPROGRESS)


def task_event(task: Task, frame_type: FrameType) -> TaskEvent:
    return TaskEvent(
        type=frame_type,
        task_id=task.id,
        seq=task.seq,
        status=TaskStatus(task.status),
        progress=task.progress,
        stage=task.stage,
        step=task.step,
        total_steps=task.total_steps,
        eta_s=task.eta_s,
        attempt=task.attempt,
        error=ErrorInfo(code=task.error_code, message=task.error_message or "")
        if task.status == TaskStatus.FAILED and task.error_code
        else None,
        results=[ResultItem.model_validate(r) for r in task.results]
        if task.status == TaskStatus.COMPLETED and task.results is not None
        else None,
    )


@dataclass(frozen=True)
class Claim:
    task: Task
    event: TaskEvent


@dataclass(frozen=True)
class Exhausted:
    event: TaskEvent


class ActiveCapReached(Exception):
    """A submit refused: its owner already has `cap` tasks QUEUED or INPROGRESS."""

    def __init__(self, cap: int):
        super().__init__(f"the owner already has {cap} active tasks")
        self.cap = cap


class TaskStore:
    def __init__(self, sessions: async_sessionmaker, clock: Callable[[], float] | None = None):
        """`clock` replaces the database's clock (tests move time with it)."""
        self._sessions = sessions
        self._clock = clock
        self._single = single_statements(sessions)

    def _now(self):
        return db_epoch() if self._clock is None else literal(self._clock(), Float)

    # -- reads ---------------------------------------------------------------------------

    async def get(self, task_id: str) -> Task | None:
        async with self._sessions() as session:
            return await session.get(Task, task_id)

    async def get_owned(self, task_id: str, owner_id: str) -> Task | None:
        """The owner's task (detached, read with one Core statement), else None."""
        table = Task.__table__
        query = select(table).where(table.c.id == task_id, table.c.owner_id == owner_id)
        async with self._single.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        return Task(**row) if row is not None else None

    async def list_page(self, owner_id: str, limit: int, after: tuple | None = None) -> list[Row]:
        """The owner's tasks newest first, `limit` of them from strictly after `after`
        (the `(created_at, id)` of the last row of the previous page): a range seek on
        `ix_tasks_owner_created` (owner_id, created_at) on both databases, however deep the
        page; only ties on created_at are sorted by id. Core rows, read by attribute like a
        Task (every column of the table), without the ORM's cost per row."""
        table = Task.__table__
        query = (
            select(table)
            .where(table.c.owner_id == owner_id)
            .order_by(table.c.created_at.desc(), table.c.id.desc())
            .limit(limit)
        )
        if after is not None:
            created_at, task_id = after
            query = query.where(
                tuple_(table.c.created_at, table.c.id)
                < tuple_(literal(created_at, table.c.created_at.type), literal(task_id))
            )
        async with self._single.connect() as connection:
            return list((await connection.execute(query)).all())

    async def count_active(self, owner_id: str) -> int:
        """The owner's tasks that are QUEUED or INPROGRESS."""
        async with self._single.connect() as connection:
            return await connection.scalar(_active(owner_id)) or 0

    async def waiting(self, kind: str, *, ready_only: bool = False, limit: int = 10_000):
        """The kind's QUEUED tasks as `Waiting` (ready_only: whose backoff has passed)."""
        query = select(Task.id, Task.owner_id, Task.available_at, Task.enqueued_at).where(
            Task.kind == kind, Task.status == TaskStatus.QUEUED
        )
        if ready_only:
            query = query.where(Task.available_at <= self._now())
        query = query.order_by(Task.available_at, Task.id).limit(limit)
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [Waiting(r.id, r.owner_id, r.available_at or 0.0, r.enqueued_at) for r in rows]

    async def queue_counts(self) -> dict[str, tuple[int, int]]:
        """Per kind, of the QUEUED tasks ready to run: (on the stream, not yet on it)."""
        dispatched = and_(Task.enqueued_at.is_not(None), Task.enqueued_at >= Task.available_at)
        query = (
            select(
                Task.kind,
                func.sum(case((dispatched, 1), else_=0)),
                func.sum(case((dispatched, 0), else_=1)),
            )
            .where(Task.status == TaskStatus.QUEUED, Task.available_at <= self._now())
            .group_by(Task.kind)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return {kind: (int(on or 0), int(off or 0)) for kind, on, off in rows}

    async def due_for_enqueue(
        self,
        *,
        grace_s: float,
        requeue_after_s: float,
        limit: int = 100,
        undispatched: bool = True,
    ) -> list[tuple[str, str, str | None]]:
        """Tasks that should be on the stream but may not be: never enqueued (a crash between
        commit and XADD), a retry whose backoff has passed, or waiting long after their last
        enqueue (its message may be lost; the caller checks `enqueued_id` on the stream).
        Returns (id, kind, enqueued_id). Enqueueing twice is harmless: claims are fenced.
        `undispatched=False` leaves tasks never enqueued (or due again) to the fair
        dispatcher, which puts them on the stream in turn."""
        now = self._now()
        lost = Task.enqueued_at < now - requeue_after_s
        due = or_(
            and_(
                Task.status == TaskStatus.QUEUED,
                Task.available_at <= now - grace_s,
                or_(Task.enqueued_at.is_(None), Task.enqueued_at < Task.available_at, lost)
                if undispatched
                else and_(Task.enqueued_at >= Task.available_at, lost),
            ),
            and_(
                Task.status == TaskStatus.INPROGRESS,
                Task.lease_until < now - requeue_after_s,
                or_(Task.enqueued_at.is_(None), Task.enqueued_at < now - requeue_after_s),
            ),
        )
        query = (
            select(Task.id, Task.kind, Task.enqueued_id)
            .where(due)
            .order_by(Task.available_at)
            .limit(limit)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
            return [(row.id, row.kind, row.enqueued_id) for row in rows]

    # -- API-side transitions ------------------------------------------------------------

    async def create(
        self,
        owner_id: str,
        max_attempts: int,
        kind: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> Task:
        """A CREATED task. `kind`/`params` may be proposed (a remix); submit sets the real ones.

        One Core INSERT (in autocommit on PostgreSQL): no unit of work, one round trip."""
        now = utcnow()
        values = {
            "id": str(uuid.uuid4()),
            "owner_id": owner_id,
            "max_attempts": max_attempts,
            "kind": kind,
            "params": params,
            "status": TaskStatus.CREATED.value,
            "seq": 0,
            "progress": 0.0,
            "attempt": 0,
            "charged_attempts": 0,
            "created_at": now,
            "updated_at": now,
        }
        async with self._single.connect() as connection:
            await connection.execute(insert(Task.__table__), values)
            await connection.commit()
        return Task(**values)

    async def submit(
        self,
        task_id: str,
        owner_id: str,
        kind: str,
        params: dict[str, Any],
        inputs: list[dict],
        *,
        active_cap: int | None = None,
    ) -> TaskEvent | None:
        """CREATED -> QUEUED. None if the task was already submitted (or is not the owner's).

        With `active_cap`, ActiveCapReached (and no change) if that would give the owner more
        than `active_cap` tasks QUEUED or INPROGRESS: counted after the change, in its
        transaction, under the owner's lock (the users row), so concurrent submits stop
        exactly at the cap."""
        statement = self._guarded_update(
            and_(Task.id == task_id, Task.owner_id == owner_id, Task.status == TaskStatus.CREATED),
            status=TaskStatus.QUEUED,
            kind=kind,
            params=params,
            inputs=inputs,
            available_at=self._now(),
            submitted_at=utcnow(),
        )
        async with self._sessions() as session, session.begin():
            if active_cap is not None:
                await lock_for_count(session, User.id, owner_id)
            task = (await session.scalars(statement)).one_or_none()
            if task is None:
                return None
            if active_cap is not None and await session.scalar(_active(owner_id)) > active_cap:
                raise ActiveCapReached(active_cap)  # rolls the change back
        return task_event(task, "status")

    async def mark_enqueued(self, task_id: str, message_id: str) -> None:
        await self.mark_all_enqueued([(task_id, message_id)])

    async def mark_all_enqueued(self, enqueued: list[tuple[str, str]]) -> None:
        """(task id, stream message id) pairs, in one transaction."""
        if not enqueued:
            return
        async with self._sessions() as session, session.begin():
            for task_id, message_id in enqueued:
                await session.execute(
                    update(Task)
                    .where(Task.id == task_id)
                    .values(enqueued_at=self._now(), enqueued_id=message_id)
                )

    async def cancel(self, task_id: str, owner_id: str) -> TaskEvent | None:
        """Any non-terminal state -> CANCELLED. A running worker finds out at its next write."""
        return await self._transition(
            "status",
            and_(Task.id == task_id, Task.owner_id == owner_id, Task.status.in_(ACTIVE)),
            status=TaskStatus.CANCELLED,
            finished_at=utcnow(),
            lease_until=None,
            eta_s=None,
        )

    # -- worker-side transitions ---------------------------------------------------------

    async def claim(self, task_id: str, worker_id: str, lease_s: float) -> Claim | Exhausted | None:
        """Take a queued task, or one whose lease lapsed (its worker died). None if neither."""
        now = self._now()
        claimable = and_(
            Task.id == task_id,
            or_(
                and_(Task.status == TaskStatus.QUEUED, Task.available_at <= now),
                and_(Task.status == TaskStatus.INPROGRESS, Task.lease_until < now),
            ),
        )
        task = await self._update(
            and_(claimable, Task.charged_attempts < Task.max_attempts),
            status=TaskStatus.INPROGRESS,
            attempt=Task.attempt + 1,
            charged_attempts=Task.charged_attempts + 1,
            worker_id=worker_id,
            lease_until=now + lease_s,
            started_at=utcnow(),
            # progress is kept: a retry must not send the client's progress bar backwards.
            stage="starting",
            step=None,
            total_steps=None,
            eta_s=None,
            error_code=None,
            error_message=None,
        )
        if task is not None:
            return Claim(task=task, event=task_event(task, "status"))
        exhausted = await self._transition(
            "status",
            and_(claimable, Task.charged_attempts >= Task.max_attempts),
            status=TaskStatus.FAILED,
            error_code="max_attempts_exceeded",
            error_message="the job did not finish after its maximum number of attempts",
            finished_at=utcnow(),
            lease_until=None,
            eta_s=None,
        )
        return Exhausted(exhausted) if exhausted is not None else None

    async def renew_lease(self, task_id: str, attempt: int, lease_s: float) -> bool:
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(Task)
                .where(self._owned_by(task_id, attempt))
                .values(lease_until=self._now() + lease_s)
            )
            return result.rowcount == 1

    async def report_progress(
        self,
        task_id: str,
        attempt: int,
        *,
        progress: float,
        stage: str,
        step: int | None,
        total_steps: int | None,
        eta_s: float | None,
    ) -> TaskEvent | None:
        return await self._transition(
            "progress",
            self._owned_by(task_id, attempt),
            progress=case((Task.progress > progress, Task.progress), else_=progress),
            stage=stage,
            step=step,
            total_steps=total_steps,
            eta_s=eta_s,
        )

    async def complete(
        self, task_id: str, attempt: int, results: list[ResultItem]
    ) -> TaskEvent | None:
        return await self._transition(
            "status",
            self._owned_by(task_id, attempt),
            status=TaskStatus.COMPLETED,
            results=[r.model_dump() for r in results],
            progress=1.0,
            stage="done",
            eta_s=0.0,
            lease_until=None,
            finished_at=utcnow(),
        )

    async def fail(self, task_id: str, attempt: int, code: str, message: str) -> TaskEvent | None:
        return await self._transition(
            "status",
            self._owned_by(task_id, attempt),
            status=TaskStatus.FAILED,
            error_code=code,
            error_message=message,
            eta_s=None,
            lease_until=None,
            finished_at=utcnow(),
        )

    async def retry_later(
        self, task_id: str, attempt: int, delay_s: float, code: str, message: str
    ) -> TaskEvent | None:
        """Back to QUEUED after a transient error; the reconciler re-enqueues it when due."""
        return await self._transition(
            "status",
            self._owned_by(task_id, attempt),
            status=TaskStatus.QUEUED,
            stage="retrying",
            error_code=code,
            error_message=message,
            available_at=self._now() + delay_s,
            enqueued_at=None,
            lease_until=None,
            eta_s=None,
        )

    async def release(self, task_id: str, attempt: int) -> TaskEvent | None:
        """Give a job back on shutdown: QUEUED at once, and the attempt is not charged."""
        return await self._transition(
            "status",
            self._owned_by(task_id, attempt),
            status=TaskStatus.QUEUED,
            stage="released",
            charged_attempts=Task.charged_attempts - 1,
            available_at=self._now(),
            lease_until=None,
            eta_s=None,
        )

    # -- mechanics -----------------------------------------------------------------------

    @staticmethod
    def _owned_by(task_id: str, attempt: int):
        return and_(
            Task.id == task_id, Task.attempt == attempt, Task.status == TaskStatus.INPROGRESS
        )

    async def _transition(self, frame_type: FrameType, guard, **values: Any) -> TaskEvent | None:
        task = await self._update(guard, **values)
        return task_event(task, frame_type) if task is not None else None

    async def _update(self, guard, **values: Any) -> Task | None:
        """One guarded change: the updated row, or None if the guard no longer holds."""
        statement = self._guarded_update(guard, **values)
        async with self._sessions() as session, session.begin():
            return (await session.scalars(statement)).one_or_none()

    @staticmethod
    def _guarded_update(guard, **values: Any):
        return (
            update(Task)
            .where(guard, Task.status.not_in(TERMINAL_STATUSES))
            .values(seq=Task.seq + 1, updated_at=utcnow(), **values)
            .returning(Task)
            .execution_options(synchronize_session=False)
        )


def _active(owner_id: str):
    """The count of the owner's tasks that are QUEUED or INPROGRESS."""
    return select(func.count()).where(Task.owner_id == owner_id, Task.status.in_(RUNNABLE))
