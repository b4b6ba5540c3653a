"""Task event frames: what the worker publishes and the task websocket sends."""

from typing import Literal

from pydantic import BaseModel, Field

from .status import TaskStatus


class ErrorInfo(BaseModel):
    code: str
    message: str


class StoredRendition(BaseModel):
    """A smaller copy of an image result, stored beside it under the same attempt prefix."""

    key: str
    content_type: str
    width: int
    height: int


class ResultItem(BaseModel):
    """A stored result. `key` is internal; the API swaps it for a short-lived `url`.

    `display` and `thumbnail` are None for results that are not images and for results
    stored before renditions existed; clients then show `url`."""

    key: str
    content_type: str
    width: int
    height: int
    seed: int | None = None  # generated images: the seed that reproduces them
    display: StoredRendition | None = None
    thumbnail: StoredRendition | None = None


class PublicRendition(BaseModel):
    url: str
    content_type: str = Field(examples=["image/webp"])
    width: int
    height: int


class PublicResult(BaseModel):
    url: str = Field(
        description="The full-size original (PNG where the job promises pixels outside the "
        "wall untouched, as murals do). Download it only when the person asks for it."
    )
    content_type: str
    width: int
    height: int
    seed: int | None = None
    display: PublicRendition | None = Field(
        default=None,
        description="What a phone shows by default: long side at most 2048, WebP, sRGB, "
        "never larger than the original. Null for results stored before renditions "
        "existed and for non-image results: show `url` instead.",
    )
    thumbnail: PublicRendition | None = Field(
        default=None,
        description="For lists and grids: long side at most 512, WebP. Null as `display`.",
    )


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
