"""Webhook delivery settings (`WEBHOOK_*`)."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The Standard Webhooks specification's example: after the first try, 5 s, 5 min, 30 min,
# 2 h, 5 h, 10 h and 10 h, then give up (about 28 hours in all).
DEFAULT_SCHEDULE_S = [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0]


class WebhookSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WEBHOOK_", extra="ignore")

    enabled: bool = True
    # One attempt (connect, send, answer) may take this long; longer is a failure.
    timeout_s: float = Field(default=10.0, gt=0)
    # Waits before each retry; a delivery still failing after the last is given up.
    retry_schedule_s: list[float] = Field(default_factory=lambda: list(DEFAULT_SCHEDULE_S))
    # Each wait is stretched by a random share up to this, so retries of many deliveries
    # that failed together (a receiver's outage) do not all land at once.
    jitter: float = Field(default=0.1, ge=0, le=1)
    # Attempts in flight at once per worker, and per endpoint among them, so a slow
    # receiver holds a few slots at most and never delays other people's deliveries.
    concurrency: int = Field(default=32, ge=1)
    per_endpoint_concurrency: int = Field(default=4, ge=1)
    # How often due retries are looked for (new events wake the deliverer at once).
    poll_s: float = Field(default=1.0, gt=0)
    max_body_bytes: int = Field(default=20_000, ge=2_000)
    # Result URLs in a webhook body live this long (a receiver reads the task for new ones).
    download_expires_s: int = Field(default=3600, ge=10)
    # A news entry a worker read but never acknowledged (it died) is taken over after this.
    news_reclaim_idle_s: float = Field(default=60.0, gt=0)

    @property
    def lease_s(self) -> float:
        """How long a claimed delivery is ours: the attempt's timeout and some slack."""
        return self.timeout_s + 30.0
