"""Turns task news (the `TASK_NEWS_STREAM` entries) into queued webhook deliveries.

Every worker reads in the `WEBHOOK_GROUP` consumer group, so each entry is handled once;
it is acknowledged only after its rows are written, and an entry whose reader died is taken
over with XAUTOCLAIM. Rows have deterministic ids, so handling an entry twice is harmless.
"""

import asyncio
import logging
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from saekdam_backbone.storage.base import ObjectStorage
from saekdam_backbone.tasks.view import task_view
from saekdam_contracts.redis_keys import TASK_NEWS_STREAM, WEBHOOK_GROUP
from saekdam_contracts.status import TaskStatus
from saekdam_contracts.webhooks import EVENT_FOR_STATUS

from .webhook_payloads import delivery_id, webhook_payload
from .webhook_settings import WebhookSettings
from .webhook_store import NewDelivery, WebhookStore

log = logging.getLogger(__name__)

READ_COUNT = 50
BLOCK_MS = 1000


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


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
        self._redis, self._store, self._storage = redis, store, storage
        self._settings = settings
        self._consumer = consumer
        self._on_queued = on_queued
        self._reclaim_cursor = "0-0"

    async def run(self) -> None:
        await self.ensure_group()
        while True:
            try:
                await self.handle_once()
            except Exception:  # noqa: BLE001 - Redis or database blip: the entry stays pending
                log.exception("webhook news error; retrying")
                await asyncio.sleep(1.0)

    async def ensure_group(self) -> None:
        try:
            await self._redis.xgroup_create(TASK_NEWS_STREAM, WEBHOOK_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def handle_once(self, block_ms: int = BLOCK_MS) -> int:
        """Read (or take over) some entries, queue their deliveries, acknowledge them."""
        entries = await self._reclaim()
        if not entries:
            response = await self._redis.xreadgroup(
                WEBHOOK_GROUP,
                self._consumer,
                {TASK_NEWS_STREAM: ">"},
                count=READ_COUNT,
                block=block_ms,
            )
            entries = [e for _stream, messages in response or [] for e in messages]
        queued = 0
        for entry_id, fields in entries:
            if fields:
                queued += await self._queue_for({_text(k): _text(v) for k, v in fields.items()})
            await self._redis.xack(TASK_NEWS_STREAM, WEBHOOK_GROUP, entry_id)
        if queued:
            self._on_queued()
        return queued

    async def _reclaim(self) -> list:
        idle_ms = int(self._settings.news_reclaim_idle_s * 1000)
        cursor, entries, *_deleted = await self._redis.xautoclaim(
            TASK_NEWS_STREAM,
            WEBHOOK_GROUP,
            self._consumer,
            min_idle_time=idle_ms,
            start_id=self._reclaim_cursor,
            count=READ_COUNT,
        )
        self._reclaim_cursor = _text(cursor)
        return list(entries)

    async def _queue_for(self, fields: dict[str, str]) -> int:
        try:
            task_id, status, seq = (
                fields["task_id"],
                TaskStatus(fields["status"]),
                int(fields["seq"]),
            )
        except (KeyError, ValueError):
            log.error("malformed task news entry dropped", extra={"outcome": str(fields)[:200]})
            return 0
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
