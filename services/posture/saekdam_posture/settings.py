"""Posture service settings, read once from the environment by `get_settings()`."""

from functools import lru_cache

from pydantic import Field, SecretStr, model_validator

from saekdam_backbone.settings import BackboneSettings
from saekdam_web.guards import DEFAULT_MAX_REQUEST_BYTES


class PostureSettings(BackboneSettings):
    jwt_secret: SecretStr
    allowed_origins: list[str] = ["http://127.0.0.1:8000", "http://localhost:8000"]

    # HTTP request bodies (saekdam_web.guards); frames arrive on the websocket instead.
    max_request_bytes: int = Field(default=DEFAULT_MAX_REQUEST_BYTES, ge=1024)
    # Frames: bounded in bytes and pixels before anything is decoded.
    max_frame_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    max_frame_side: int = Field(default=4096, ge=64)
    max_frame_pixels: int = Field(default=16_000_000, ge=4096)
    # MediaPipe threads per process (each holds its own model).
    estimator_threads: int = Field(default=1, ge=1, le=16)
    # Text messages a session may send per second (landmark JSON, controls).
    max_messages_per_s: float = Field(default=30.0, gt=0)
    # Binary frames a session may send per second (clients send 1-10); more get `rate_limited`.
    max_frames_per_s: float = Field(default=15.0, gt=0)
    # A text message is a few KiB of landmarks at most; larger ones are refused unparsed.
    max_text_bytes: int = Field(default=16 * 1024, ge=1024)
    # Sessions one process serves; more are closed with 1013 (try again later).
    max_sessions: int = Field(default=100, ge=1)
    # Of those, the sessions one user may hold at once (a phone and a laptop, and a tab left
    # open), so that one account cannot fill the process.
    max_sessions_per_user: int = Field(default=3, ge=1)
    # A frame that waited longer than this for an estimator is dropped, never processed late.
    max_frame_age_s: float = Field(default=2.0, gt=0)
    # A client that does not take a message within this is dropped.
    send_timeout_s: float = Field(default=5.0, gt=0)

    calibration_s: float = Field(default=15.0, ge=3, le=120)
    # The alert policy (policy.PolicyConfig): bad posture must last `alert_persistence_s`
    # before an alert, alerts are at least `alert_cooldown_s` apart; a session starts at
    # `default_sensitivity` (0 relaxed … 1 strict) until its client sends settings.
    alert_persistence_s: float = Field(default=10.0, ge=0, le=3600)
    alert_cooldown_s: float = Field(default=60.0, ge=0, le=24 * 3600)
    default_sensitivity: float = Field(default=0.5, ge=0, le=1)
    # Hysteresis on the smoothed index: a bad state is entered above `enter`, left below `exit`.
    alert_enter_threshold: float = Field(default=0.5, ge=0, le=1)
    alert_exit_threshold: float = Field(default=0.3, ge=0, le=1)
    # Ignored alerts escalate up to this level; `recovery_s` of good posture resets them.
    alert_max_level: int = Field(default=3, ge=1, le=10)
    alert_recovery_s: float = Field(default=20.0, ge=0, le=3600)
    ws_auth_timeout_s: float = 10.0
    # Session statistics are saved this often while a session runs, and at its end.
    save_every_s: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _hysteresis_is_a_band(self) -> "PostureSettings":
        if self.alert_exit_threshold > self.alert_enter_threshold:
            raise ValueError("ALERT_EXIT_THRESHOLD must not exceed ALERT_ENTER_THRESHOLD")
        return self


@lru_cache
def get_settings() -> PostureSettings:
    return PostureSettings()
