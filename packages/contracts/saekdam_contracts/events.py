"""Task event frames: what the worker publishes and the task websocket sends."""

from typing import Literal

from pydantic import BaseModel

from .status import TaskStatus


class ErrorInfo(BaseModel):
    code: str
    message: str


class ResultItem(BaseModel):
    """A stored result. `key` is internal; the API swaps it for a short-lived `url`."""

    key: str
    content_type: str
    width: int
    height: int
    seed: int | None = None  # generated images: the seed that reproduces them


class PublicResult(BaseModel):
    url: str
    content_type: str
    width: int
    height: int
    seed: int | None = None


FrameType = Literal["snapshot", "status", "progress"]


class TaskEvent(BaseModel):
    """One change of a task, as published on Redis. `seq` grows by one per change."""

    type: FrameType
    task_id: str
    seq: int
    status: TaskStatus
    progress: float = 0.0
    stage: str | None = None
    step: int | None = None
    total_steps: int | None = None
    eta_s: float | None = None
    attempt: int = 0
    error: ErrorInfo | None = None
    results: list[ResultItem] | None = None
