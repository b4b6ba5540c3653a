from typing import Annotated

from fastapi import APIRouter, Query, status

from saekdam_backbone.tasks.models import Task
from saekdam_contracts.tasks import TaskView
from saekdam_web.paging import MAX_CURSOR_CHARS
from saekdam_web.ratelimit import rate_limited

from ..deps import CurrentUser, TasksDep
from ..domain.tasks import TaskService
from ..schemas import SubmitIn, TaskCreated, TaskOut, TaskPage, UploadIn, UploadOut

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])


def as_out(view: TaskView) -> TaskOut:
    # The view was validated when built; the response adds no field, so no second pass.
    return TaskOut.model_construct(**dict(view))


async def task_out(task: Task, tasks: TaskService) -> TaskOut:
    return as_out(await tasks.view(task))


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_task(user: CurrentUser, tasks: TasksDep, _=rate_limited("tasks")) -> TaskCreated:
    """Step 1: a new task id."""
    task = await tasks.create(user.id)
    return TaskCreated(task_id=task.id, status=task.status)


@router.get("")
async def list_tasks(
    user: CurrentUser,
    tasks: TasksDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_CHARS)] = None,
) -> TaskPage:
    """My tasks, newest first. `cursor` is the opaque value from the previous page."""
    views, next_cursor = await tasks.list_page(user.id, limit, cursor)
    return TaskPage(items=[as_out(v) for v in views], next_cursor=next_cursor)


@router.post("/{task_id}/uploads", status_code=status.HTTP_201_CREATED)
async def request_upload(
    task_id: str,
    body: UploadIn,
    user: CurrentUser,
    tasks: TasksDep,
    _=rate_limited("uploads"),
) -> UploadOut:
    """Step 2: a presigned form to upload one file straight to storage."""
    upload, form = await tasks.request_upload(
        task_id, user.id, body.role, body.content_type, body.size
    )
    return UploadOut.of(upload, form)


@router.post("/{task_id}/submit", status_code=status.HTTP_202_ACCEPTED)
async def submit_task(
    task_id: str,
    body: SubmitIn,
    user: CurrentUser,
    tasks: TasksDep,
    _=rate_limited("tasks"),
) -> TaskCreated:
    """Step 4: verify the uploads and queue the job (idempotent)."""
    state = await tasks.submit(task_id, user.id, body.kind, body.params, user.is_guest)
    return TaskCreated(task_id=task_id, status=state)


@router.get("/{task_id}")
async def get_task(task_id: str, user: CurrentUser, tasks: TasksDep) -> TaskOut:
    """Step 11: the task's state, with download URLs once COMPLETED."""
    return await task_out(await tasks.get(task_id, user.id), tasks)


@router.post("/{task_id}/cancel", status_code=status.HTTP_202_ACCEPTED)
async def cancel_task(
    task_id: str, user: CurrentUser, tasks: TasksDep, _=rate_limited("tasks")
) -> TaskCreated:
    """Cancel a task that has not finished; a running job stops at its next step."""
    state = await tasks.cancel(task_id, user.id)
    return TaskCreated(task_id=task_id, status=state)
