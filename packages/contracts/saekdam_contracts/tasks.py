"""The public view of a task: what `GET /v1/tasks/{id}` returns and webhooks carry as `data`."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from .events import ErrorInfo, PublicResult
from .status import TaskStatus


class TaskView(BaseModel):
    task_id: str
    status: TaskStatus
    kind: str | None
    params: dict[str, Any] | None
    seq: int
    progress: float
    stage: str | None
    step: int | None
    total_steps: int | None
    eta_s: float | None
    attempt: int
    error: ErrorInfo | None = None
    results: list[PublicResult] | None = None
    created_at: datetime
    submitted_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
