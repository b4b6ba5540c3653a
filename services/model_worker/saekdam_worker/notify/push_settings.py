"""Web Push delivery settings (`PUSH_*`; the VAPID key itself is `VAPID_PRIVATE_KEY`)."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PushSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PUSH_", extra="ignore")

    # How long a push service keeps a message for a device that is offline.
    ttl_s: int = Field(default=24 * 3600, ge=0, le=28 * 24 * 3600)
    # One request to a push service (connect, send, answer) may take this long.
    timeout_s: float = Field(default=10.0, gt=0)
    # Tries per notification when the push service is busy (429, 5xx) or unreachable.
    attempts: int = Field(default=3, ge=1, le=10)
    retry_base_s: float = Field(default=1.0, ge=0)
    # Requests in flight at once per worker.
    concurrency: int = Field(default=16, ge=1)
    # A news entry a worker read but never acknowledged (it died) is taken over after this.
    reclaim_idle_s: float = Field(default=60.0, gt=0)
    # How long "this task was pushed to this subscription" is remembered (re-read entries).
    dedupe_ttl_s: int = Field(default=7 * 24 * 3600, ge=60)
    # The API's PUSH_ALLOW_HTTP: loopback endpoints are allowed (tests, `make run`).
    allow_http: bool = False

    @property
    def sending_lease_ms(self) -> int:
        """How long one notification may be in the works before a re-read may send it."""
        worst_s = self.attempts * self.timeout_s + self.retry_base_s * 2**self.attempts
        return int((worst_s + 30.0) * 1000)
