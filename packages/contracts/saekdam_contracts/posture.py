"""The posture websocket's messages (`WS /v1/posture/stream`).

Clients send binary JPEG/WebP frames, or landmark JSON in the same schema the server's own
pose estimator produces (MediaPipe Pose: 33 landmarks, x and y normalised to the frame).
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

POSE_LANDMARK_COUNT = 33


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Landmark(Message):
    x: float = Field(ge=-1, le=2)  # normalised to the frame width; may lie just outside it
    y: float = Field(ge=-1, le=2)
    z: float = Field(default=0.0, ge=-10, le=10)
    visibility: float = Field(default=1.0, ge=0, le=1)


class ImageSize(Message):
    width: int = Field(gt=0, le=8192)
    height: int = Field(gt=0, le=8192)


# -- client -> server ---------------------------------------------------------------------


class LandmarksMessage(Message):
    type: Literal["landmarks"]
    frame_id: int | None = Field(default=None, ge=0)
    image: ImageSize
    landmarks: list[Landmark] = Field(
        min_length=POSE_LANDMARK_COUNT, max_length=POSE_LANDMARK_COUNT
    )


class CalibrateMessage(Message):
    type: Literal["calibrate"]
    action: Literal["start", "finish", "cancel"]
    setup: str | None = Field(default=None, min_length=1, max_length=40, pattern=r"^[\w .-]+$")


class PauseMessage(Message):
    type: Literal["pause"]


class ResumeMessage(Message):
    type: Literal["resume"]


class SettingsMessage(Message):
    type: Literal["settings"]
    # 0 = relaxed, 1 = strict: scales the thresholds of the alert policy.
    sensitivity: float | None = Field(default=None, ge=0, le=1)
    setup: str | None = Field(default=None, min_length=1, max_length=40, pattern=r"^[\w .-]+$")


class PingMessage(Message):
    type: Literal["ping"]


ClientMessage = Annotated[
    LandmarksMessage
    | CalibrateMessage
    | PauseMessage
    | ResumeMessage
    | SettingsMessage
    | PingMessage,
    Field(discriminator="type"),
]

PostureState = Literal["good", "forward_head", "looking_down", "away", "paused", "uncalibrated"]
