"""The Web Push message a finished task sends to each of its owner's subscriptions.

Encrypted for one browser (RFC 8291), so the service worker reads it as JSON. Kept small:
push services take at most 4 kB, and the task itself is a `GET /v1/tasks/{id}` away.
"""

from typing import Literal

from pydantic import BaseModel, Field

from .status import TaskStatus

PushEventType = Literal["task.completed", "task.failed"]

EVENT_FOR_STATUS: dict[TaskStatus, PushEventType] = {
    TaskStatus.COMPLETED: "task.completed",
    TaskStatus.FAILED: "task.failed",
}


class PushNotification(BaseModel):
    type: PushEventType
    task_id: str
    kind: str | None
    status: TaskStatus
    title: str = Field(max_length=100)
    body: str = Field(max_length=300)
