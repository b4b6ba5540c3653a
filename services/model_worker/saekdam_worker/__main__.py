"""`python -m saekdam_worker`: run one worker process until SIGTERM/SIGINT."""

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from prometheus_client import start_http_server
from redis.asyncio import Redis

from saekdam_backbone.db import create_engine, create_sessions
from saekdam_backbone.events import EventPublisher, cancel_requests
from saekdam_backbone.logs import configure_logging
from saekdam_backbone.notifications.vapid import configured_key
from saekdam_backbone.previews import PreviewBus
from saekdam_backbone.queue import JobQueue
from saekdam_backbone.queue_stats import QueueStats
from saekdam_backbone.storage import build_storage
from saekdam_backbone.tasks.store import TaskStore
from saekdam_contracts.jobs import JOB_SPECS

from . import jobs  # noqa: F401  (registers the handlers)
from .capabilities import advertise_forever
from .dispatcher import Dispatcher
from .liveness import Heartbeat
from .metrics import registry
from .models.manager import ModelManager
from .notify.push import start_push
from .notify.webhooks import start_webhooks
from .reconciler import Reconciler
from .runtime import Worker
from .settings import WorkerSettings, get_settings

log = logging.getLogger("saekdam_worker")


async def serve(settings: WorkerSettings) -> None:
    engine = create_engine(settings.database_url)
    redis = Redis.from_url(settings.redis_url)
    store = TaskStore(create_sessions(engine))
    queue = JobQueue(redis)
    reconciler = Reconciler(
        store,
        queue,
        redis,
        owner=settings.worker_id,
        interval_s=settings.reconcile_interval_s,
        grace_s=settings.reconcile_grace_s,
        requeue_after_s=settings.requeue_after_s,
        undispatched=settings.queue_order == "fifo",
    )
    dispatcher = (
        Dispatcher(
            store,
            queue,
            redis,
            owner=settings.worker_id,
            kinds=list(JOB_SPECS),
            depth=settings.dispatch_depth,
            interval_s=settings.dispatch_interval_s,
        )
        if settings.queue_order == "fair"
        else None
    )
    models = ModelManager(settings.models)
    worker = Worker(
        settings,
        store,
        queue,
        EventPublisher(redis),
        build_storage(settings),
        reconciler,
        cancel_requests(redis),
        models,
        QueueStats(redis),
        previews=PreviewBus(redis),
        dispatcher=dispatcher,
    )
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, worker.request_stop)
    advertiser = asyncio.create_task(
        advertise_forever(
            redis,
            settings.worker_id,
            lambda: models.capabilities(worker.kinds),
        )
    )
    # Webhook deliveries and Web Push run beside the jobs, never inside one.
    notifiers = start_webhooks(
        create_sessions(engine),
        redis,
        build_storage(settings),
        settings.webhooks,
        consumer=settings.worker_id,
        allow_loopback=settings.webhooks_allow_loopback,
    )
    notifiers += await start_push(
        create_sessions(engine),
        redis,
        settings.push,
        vapid_private_key=configured_key(settings.vapid_private_key),
        vapid_subject=settings.vapid_subject,
        consumer=settings.worker_id,
    )
    if settings.heartbeat_file:
        heartbeat = Heartbeat(
            Path(settings.heartbeat_file),
            worker,
            every_s=settings.heartbeat_every_s,
            job_stall_s=settings.job_stall_s,
        )
        notifiers.append(asyncio.create_task(heartbeat.run_forever(), name="heartbeat"))
    try:
        await worker.run()
    finally:
        for background in (advertiser, *notifiers):
            background.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await background
        await redis.aclose()
        await engine.dispose()
        log.info("worker stopped", extra={"worker_id": settings.worker_id})


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr="0.0.0.0", registry=registry)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
