"""Starts a worker's webhook loops: news to queued deliveries, and the deliverer."""

import asyncio

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import async_sessionmaker

from saekdam_backbone.storage.base import ObjectStorage

from .webhook_deliverer import WebhookDeliverer
from .webhook_news import WebhookNews
from .webhook_settings import WebhookSettings
from .webhook_store import WebhookStore


def start_webhooks(
    sessions: async_sessionmaker,
    redis: Redis,
    storage: ObjectStorage,
    settings: WebhookSettings,
    *,
    consumer: str,
    allow_loopback: bool,
) -> list[asyncio.Task]:
    """The loops as tasks (none when webhooks are off); the caller cancels them."""
    if not settings.enabled:
        return []
    store = WebhookStore(sessions)
    deliverer = WebhookDeliverer(store, settings, allow_loopback=allow_loopback)
    news = WebhookNews(redis, store, storage, settings, consumer=consumer, on_queued=deliverer.wake)
    return [
        asyncio.create_task(news.run(), name="webhook-news"),
        asyncio.create_task(deliverer.run(), name="webhook-deliverer"),
    ]
