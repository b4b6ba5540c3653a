"""Turns task news (the `TASK_NEWS_STREAM` entries) into queued webhook deliveries.

Every worker reads in the `WEBHOOK_GROUP` consumer group, so each entry is handled once;
it is acknowledged only after its rows are written, and an entry whose reader died is taken
over with XAUTOCLAIM. Rows have deterministic ids, so handling an entry twice is harmless.
"""

import asyncio
import logging
import time
from collections.abc import Callable

from redis.asyncio import Redis

from saekdam_backbone.news import NewsReader
from saekdam_backbone.storage.base import ObjectStorage
from saekdam_backbone.tasks.view import task_view
from saekdam_contracts.news import TaskNews
from saekdam_contracts.redis_keys import WEBHOOK_GROUP
from saekdam_contracts.webhooks import EVENT_FOR_STATUS

from .webhook_payloads import delivery_id, webhook_payload
from .webhook_settings import WebhookSettings
from .webhook_store import NewDelivery, WebhookStore

log = logging.getLogger(__name__)

BLOCK_MS = 1000


class WebhookNews:
    def __init__(
        self,
        redis: Redis,
        store: WebhookStore,
        storage: ObjectStorage,
        settings: WebhookSettings,
        *,
        consumer: str,
        on_queued: Callable[[], None] = lambda: None,
    ):
        self._store, self._storage = store, storage
        self._settings = settings
        self._news = NewsReader(redis, WEBHOOK_GROUP, consumer)
        self._on_queued = on_queued
        self._reclaimed_at = -float("inf")

    async def run(self) -> None:
        await self.ensure_group()
        while True:
            try:
                await self.handle_once()
            except Exception:  # noqa: BLE001 - Redis or database blip: the entry stays pending
                log.exception("webhook news error; retrying")
                await asyncio.sleep(1.0)

    async def ensure_group(self) -> None:
        await self._news.ensure_group()

    async def handle_once(self, block_ms: int = BLOCK_MS) -> int:
        """Read (or take over) some entries, queue their deliveries, acknowledge them."""
        entries = []
        # Taking over a dead reader's entries can wait a fraction of their idle time; not
        # one XAUTOCLAIM per read.
        if time.monotonic() - self._reclaimed_at >= self._settings.news_reclaim_idle_s / 4:
            self._reclaimed_at = time.monotonic()
            entries = await self._news.reclaim(self._settings.news_reclaim_idle_s, max_calls=1)
        if not entries:
            entries = await self._news.read(block_ms)
        for entry in entries:
            if entry.news is None:
                log.error("malformed task news entry dropped", extra={"outcome": entry.entry_id})
        news = [entry.news for entry in entries if entry.news is not None]
        wanted = await self._store.with_endpoints([n.task_id for n in news]) if news else set()
        queued = 0
        for item in news:
            if item.task_id in wanted:
                queued += await self._queue_for(item)
        await self._news.ack(*(entry.entry_id for entry in entries))
        if queued:
            self._on_queued()
        return queued

    async def _queue_for(self, news: TaskNews) -> int:
        task_id, status, seq = news.task_id, news.status, news.seq
        event_type = EVENT_FOR_STATUS.get(status)
        task = await self._store.task(task_id)
        if event_type is None or task is None:  # not news, or the account was deleted
            return 0
        endpoints = await self._store.endpoints_for(task.owner_id, event_type)
        if not endpoints:
            return 0
        view = await task_view(task, self._storage, self._settings.download_expires_s)
        payload = webhook_payload(event_type, view, self._settings.max_body_bytes)
        deliveries = [
            NewDelivery(delivery_id(e.id, task_id, status, seq), e.id, event_type, payload)
            for e in endpoints
        ]
        added = await self._store.add(task_id, deliveries)
        log.info(
            "webhook deliveries queued",
            extra={"task_id": task_id, "outcome": f"{event_type} x{added}"},
        )
        return added
