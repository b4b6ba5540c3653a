"""Frames every Saekdam websocket shares (the task events and the posture stream)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# An auth frame is a token and a type; anything longer is refused unparsed.
MAX_AUTH_FRAME_BYTES = 8 * 1024


class AuthFrame(BaseModel):
    """Browsers cannot set headers on a websocket: their first text frame carries the token."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["auth"]
    token: str = Field(min_length=1, max_length=4096)
