"""Live previews: what a client asks for on the task websocket and what it is sent.

Previews are pictures of a denoise in progress. They carry no `seq` and never touch the task
row: losing one costs nothing, the next replaces it.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MIN_PREVIEW_SIDE = 64
MAX_PREVIEW_SIDE = 512
DEFAULT_PREVIEW_SIDE = 256
# No client gets previews more often than this, whatever it asks.
MIN_PREVIEW_EVERY_S = 0.25
DEFAULT_PREVIEW_EVERY_S = 0.5
# An encoded preview never exceeds this; the worker lowers the quality until it fits.
MAX_PREVIEW_BYTES = 32_000


class PreviewOptions(BaseModel):
    """One client's wish: pictures with the long side at most `max_side`, one per `every_s`."""

    model_config = ConfigDict(extra="forbid")

    max_side: int = Field(DEFAULT_PREVIEW_SIDE, ge=MIN_PREVIEW_SIDE, le=MAX_PREVIEW_SIDE)
    every_s: float = Field(DEFAULT_PREVIEW_EVERY_S, ge=MIN_PREVIEW_EVERY_S, le=3600)


class OptionsFrame(BaseModel):
    """Client -> server after auth: `previews: null` turns previews off (the default)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["options"]
    previews: PreviewOptions | None


class PreviewWatch(BaseModel):
    """One watching socket, as the API records it in Redis for the worker to read.
    `until` (Unix time) lets a reader ignore a socket whose API process died."""

    max_side: int
    every_s: float
    until: float


class PreviewFrame(BaseModel):
    """Server -> client (and worker -> API on Redis): one picture of the denoise so far."""

    type: Literal["preview"] = "preview"
    task_id: str
    step: int
    total_steps: int
    width: int
    height: int
    # A data URL: "data:image/jpeg;base64,..." (or image/webp).
    image: str
