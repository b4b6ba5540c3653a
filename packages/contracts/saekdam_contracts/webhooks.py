"""Webhook event names and the body every delivery carries (Standard Webhooks)."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from .status import TaskStatus
from .tasks import TaskView

WebhookEventType = Literal["task.started", "task.completed", "task.failed", "task.cancelled"]

EVENT_FOR_STATUS: dict[TaskStatus, WebhookEventType] = {
    TaskStatus.INPROGRESS: "task.started",
    TaskStatus.COMPLETED: "task.completed",
    TaskStatus.FAILED: "task.failed",
    TaskStatus.CANCELLED: "task.cancelled",
}


class WebhookPayload(BaseModel):
    """`data` is the task as `GET /v1/tasks/{id}` returns it when the delivery was queued.

    `truncated` is set when the body would exceed the size cap: `data.params` were dropped
    and then results trimmed; the receiver reads the whole task with `GET /v1/tasks/{id}`."""

    type: WebhookEventType
    timestamp: datetime
    data: TaskView
    truncated: bool | None = None
