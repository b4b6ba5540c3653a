"""Settings every service shares: where the database, Redis and object storage are.

Read from the environment by each service's own `get_settings()`, never at import time.
"""

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .fairness import QueueOrder
from .secret_rules import MIN_SECRET_CHARS, refuse_message, secret_problem, url_password_problem

# Secrets every service signs with when it has them, and which production needs set.
REQUIRED_IN_PRODUCTION = ("jwt_secret",)


class BackboneSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    # "production" refuses missing, short and example secrets (see secret_rules); compose and
    # the k8s manifests set it. "development" (make run, the tests) does not check.
    environment: Literal["development", "production"] = "development"

    database_url: str = "sqlite+aiosqlite:///var/saekdam.db"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # How long a request waits for Redis or the database to connect or answer before it is
    # told 503 service_unavailable (saekdam_backbone.dependencies).
    dependency_timeout_s: float = Field(default=1.5, gt=0, le=60)

    storage_backend: Literal["local", "s3"] = "local"
    # local backend: files under this folder, URLs signed with the secret, served by the API.
    storage_local_root: str = "var/storage"
    storage_signing_secret: SecretStr | None = None
    # The address clients use to reach the API (absolute upload/download URLs are built on it).
    public_base_url: str = "http://127.0.0.1:8000"
    # s3 backend (credentials come from the usual AWS_* variables or the instance role).
    s3_bucket: str = "saekdam"
    s3_endpoint_url: str | None = None
    s3_public_endpoint_url: str | None = Field(
        default=None, description="Endpoint clients use for presigned URLs, if not s3_endpoint_url"
    )
    s3_region: str = "us-east-1"

    # "fair": jobs of a kind start round-robin across people (the workers' dispatcher puts
    # them on the stream in turn); "fifo": in submit order, the API enqueues at submit.
    # API and workers must agree.
    queue_order: QueueOrder = "fair"

    log_level: str = "INFO"
    log_json: bool = True

    # Web Push (VAPID, RFC 8292): the API serves the public half, workers sign with the key.
    # Without a key there is no push (503 `push_unavailable`). Make one with
    # `python -m saekdam_backbone.notifications.vapid`.
    vapid_private_key: SecretStr | None = None
    # Who push services contact about this sender: a mailto: or https: URL.
    vapid_subject: str = Field(default="mailto:admin@saekdam.invalid", pattern=r"^(mailto:|https:)")

    # Webhooks may call loopback addresses (`make run`'s embedded mode only; the API checks
    # at registration, workers before every delivery). Private and metadata addresses never.
    webhooks_allow_loopback: bool = False

    @model_validator(mode="after")
    def _production_secrets(self):
        if self.environment != "production":
            return self
        problems = []
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if not isinstance(value, SecretStr) and field.annotation not in (
                SecretStr,
                SecretStr | None,
            ):
                continue
            raw = value.get_secret_value() if isinstance(value, SecretStr) else None
            required = name in REQUIRED_IN_PRODUCTION or (
                name == "storage_signing_secret" and self.storage_backend == "local"
            )
            # A VAPID key is a P-256 key, not a password: only an example value is wrong.
            min_chars = 0 if name == "vapid_private_key" else MIN_SECRET_CHARS
            if problem := secret_problem(name.upper(), raw, required=required, min_chars=min_chars):
                problems.append(problem)
        for name in ("database_url", "redis_url"):
            if problem := url_password_problem(name.upper(), getattr(self, name)):
                problems.append(problem)
        if problems:
            raise ValueError(refuse_message(problems))
        return self
