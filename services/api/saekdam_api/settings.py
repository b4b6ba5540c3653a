"""API settings, read once from the environment by `get_settings()` (tests build their own)."""

from functools import lru_cache

from pydantic import Field, SecretStr

from saekdam_backbone.settings import BackboneSettings


class ApiSettings(BackboneSettings):
    jwt_secret: SecretStr
    jwt_ttl_s: int = Field(default=3600, ge=60)
    # Browser origins allowed on websockets (and CORS). Native clients send no Origin.
    allowed_origins: list[str] = ["http://127.0.0.1:8000", "http://localhost:8000"]

    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    upload_expires_s: int = Field(default=600, ge=1)
    download_expires_s: int = Field(default=300, ge=10)
    max_uploads_per_task: int = Field(default=12, ge=1)
    max_attempts: int = Field(default=3, ge=1)
    enable_diagnostic_jobs: bool = False

    # Requests per minute for each client (user id, or address before login).
    rate_auth_per_min: int = 20
    rate_tasks_per_min: int = 60
    rate_uploads_per_min: int = 120

    ws_auth_timeout_s: float = 10.0
    ws_queue_size: int = 64
    ws_send_timeout_s: float = 10.0
    ws_resync_s: float = 15.0


@lru_cache
def get_settings() -> ApiSettings:
    return ApiSettings()
