"""API settings, read once from the environment by `get_settings()` (tests build their own)."""

from functools import lru_cache

from pydantic import Field, SecretStr

from saekdam_backbone.settings import BackboneSettings
from saekdam_web.guards import DEFAULT_MAX_REQUEST_BYTES


class ApiSettings(BackboneSettings):
    jwt_secret: SecretStr
    jwt_ttl_s: int = Field(default=3600, ge=60)
    # Browser origins allowed on websockets (and CORS). Native clients send no Origin.
    allowed_origins: list[str] = ["http://127.0.0.1:8000", "http://localhost:8000"]

    # Every request body but the local storage backend's upload form (which takes
    # max_upload_bytes and its fields): JSON bodies are small, images go to storage directly.
    max_request_bytes: int = Field(default=DEFAULT_MAX_REQUEST_BYTES, ge=1024)
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    upload_expires_s: int = Field(default=600, ge=1)
    download_expires_s: int = Field(default=300, ge=10)
    max_uploads_per_task: int = Field(default=12, ge=1)
    # Uploaded images the API decodes at once to verify them (the rest wait): each may take
    # 256 MB at the pixel limit, from an upload of a few hundred kB.
    verify_concurrency: int = Field(default=2, ge=1)
    max_attempts: int = Field(default=3, ge=1)
    enable_diagnostic_jobs: bool = False

    # Requests per minute for each caller (per user when signed in, else per address), per
    # family of routes, counted in a moving window shared by every replica through Redis.
    rate_auth_per_min: int = Field(default=20, ge=1)
    rate_tasks_per_min: int = Field(default=60, ge=1)
    rate_uploads_per_min: int = Field(default=120, ge=1)
    rate_posts_per_min: int = Field(default=10, ge=1)
    rate_comments_per_min: int = Field(default=30, ge=1)
    rate_likes_per_min: int = Field(default=120, ge=1)
    rate_reports_per_min: int = Field(default=10, ge=1)
    rate_moderation_per_min: int = Field(default=120, ge=1)
    rate_account_per_min: int = Field(default=5, ge=1)
    rate_webhooks_per_min: int = Field(default=30, ge=1)
    rate_push_per_min: int = Field(default=30, ge=1)

    # The board: images of a post, thumbnails, and the popular ranking's half-life.
    max_post_images: int = Field(default=10, ge=1, le=10)
    thumbnail_side: int = Field(default=512, ge=64, le=2048)

    # Webhook endpoints one user (guest or registered) may have.
    max_webhooks_per_user: int = Field(default=10, ge=1)

    # Web Push subscriptions (browsers) one user may have. Endpoints are https only, unless
    # this allows http to loopback (tests and `make run`: no real push service is http).
    max_push_subscriptions_per_user: int = Field(default=10, ge=1)
    push_allow_http: bool = False

    # Queue positions are re-read at most this often per kind and API process; an ETA
    # assumes this run time for a kind until one was measured.
    queue_refresh_s: float = Field(default=1.0, ge=0.1, le=60)
    default_run_s: float = Field(default=10.0, gt=0)
    # Tasks one person may have QUEUED or INPROGRESS at once; more are 429.
    max_active_tasks_guest: int = Field(default=5, ge=1)
    max_active_tasks_registered: int = Field(default=20, ge=1)

    ws_auth_timeout_s: float = 10.0
    ws_queue_size: int = 64
    ws_send_timeout_s: float = 10.0
    ws_resync_s: float = 15.0

    def rate_limits(self) -> dict[str, int]:
        """Each route family's per-minute limit, by family name (`rate_<family>_per_min`)."""
        prefix, suffix = "rate_", "_per_min"
        return {
            name[len(prefix) : -len(suffix)]: value
            for name, value in self.model_dump().items()
            if name.startswith(prefix) and name.endswith(suffix)
        }


@lru_cache
def get_settings() -> ApiSettings:
    return ApiSettings()
