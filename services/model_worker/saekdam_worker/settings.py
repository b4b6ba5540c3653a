"""Worker settings, read once from the environment by `get_settings()`."""

import os
import socket
from functools import lru_cache

from pydantic import Field

from saekdam_backbone.settings import BackboneSettings

from .models.settings import ModelSettings
from .notify.push_settings import PushSettings
from .notify.webhook_settings import WebhookSettings


def _default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class WorkerSettings(BackboneSettings):
    worker_id: str = Field(default_factory=_default_worker_id)
    # Job kinds this worker takes; empty means every kind it has a handler for.
    worker_kinds: list[str] = []
    # A job whose worker stops renewing for this long is taken over by another worker.
    lease_s: float = Field(default=30.0, gt=0.5)
    retry_base_s: float = Field(default=2.0, ge=0)
    retry_max_s: float = Field(default=120.0, ge=0)
    # How often the reconciler looks for tasks the stream lost or whose retry is due.
    reconcile_interval_s: float = Field(default=5.0, gt=0)
    reconcile_grace_s: float = Field(default=2.0, ge=0)
    requeue_after_s: float = Field(default=120.0, gt=0)
    # Fair turns: tasks of a kind waiting on the stream per worker online (the rest wait in
    # the database for their turn), and how often the dispatcher looks without a wake-up.
    dispatch_depth: int = Field(default=1, ge=1, le=100)
    dispatch_interval_s: float = Field(default=0.2, gt=0)
    # Jobs read ahead and prepared while another holds the pipeline, the last one finished
    # meanwhile. They are claimed only on their turn, so a worker killed while they wait
    # charges them no attempt. 0: one job at a time, read to outcome.
    prefetch_jobs: int = Field(default=1, ge=0, le=4)
    # Progress is written at most this often (the newest update wins; a job shorter than
    # this writes none, only its outcome). 0: every update, coalesced while a write is in
    # flight; a client watching a short job sees its steps.
    progress_interval_s: float = Field(default=0.0, ge=0)
    # On SIGTERM, let a running job finish for this long before giving it back.
    shutdown_grace_s: float = Field(default=10.0, ge=0)
    metrics_port: int = Field(default=0, ge=0, le=65535)
    # Liveness (saekdam_worker.liveness): the event loop rewrites this file every
    # `heartbeat_every_s`; a probe (`python -m saekdam_worker.liveness`) fails when it is old.
    # A job on the pipeline that reports no progress for `job_stall_s` ends the worker (its
    # lease lapses and another worker takes the job). Empty file / 0 turn them off.
    heartbeat_file: str = "/tmp/saekdam-worker.alive"
    heartbeat_every_s: float = Field(default=5.0, gt=0)
    job_stall_s: float = Field(default=900.0, ge=0)

    models: ModelSettings = Field(default_factory=ModelSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    push: PushSettings = Field(default_factory=PushSettings)


@lru_cache
def get_settings() -> WorkerSettings:
    return WorkerSettings()
