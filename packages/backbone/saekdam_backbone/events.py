"""Task events and cancel requests on Redis pub/sub."""

import asyncio
import logging
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from redis.exceptions import RedisError

from saekdam_contracts.events import TaskEvent
from saekdam_contracts.news import TaskNews
from saekdam_contracts.redis_keys import (
    CANCEL_CHANNEL_PREFIX,
    DISPATCH_CHANNEL,
    TASK_EVENTS_CHANNEL,
    TASK_NEWS_STREAM,
)
from saekdam_contracts.status import TaskStatus

# State changes people are told about when they are not watching (webhooks, Web Push).
NEWSWORTHY = {
    TaskStatus.INPROGRESS,
    TaskStatus.COMPLETED,
    TaskStatus.FAILED,
    TaskStatus.CANCELLED,
}
NEWS_MAXLEN = 100_000

log = logging.getLogger(__name__)


class EventPublisher:
    def __init__(self, redis: Redis, channel: str = TASK_EVENTS_CHANNEL):
        self._redis = redis
        self._channel = channel

    async def publish(self, event: TaskEvent | None) -> None:
        # The task row already holds this state, so a lost publish costs latency, not data:
        # websockets resync from the row (see the API's event hub).
        if event is None:
            return
        if not (event.type == "status" and event.status in NEWSWORTHY):
            await self._redis.publish(self._channel, event.model_dump_json())
            return
        # One round trip for both (not a transaction: each is fine without the other).
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.publish(self._channel, event.model_dump_json())
            pipe.xadd(
                TASK_NEWS_STREAM,
                TaskNews(task_id=event.task_id, status=event.status, seq=event.seq).to_fields(),
                maxlen=NEWS_MAXLEN,
                approximate=True,
            )
            await pipe.execute()

    async def request_dispatch(self) -> None:
        """Wake the fair dispatchers: a submit just queued something."""
        await self._redis.publish(DISPATCH_CHANNEL, "1")

    async def request_cancel(self, task_id: str) -> None:
        await self._redis.publish(CANCEL_CHANNEL_PREFIX + task_id, "cancel")


async def cancel_requests(redis: Redis) -> AsyncIterator[str]:
    """Task ids as their cancel is requested, for as long as the caller listens. Missing one
    (while reconnecting) only delays that cancel to the job's next fenced write."""
    backoff = 0.1
    while True:
        try:
            async with redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                await pubsub.psubscribe(CANCEL_CHANNEL_PREFIX + "*")
                backoff = 0.1
                async for message in pubsub.listen():
                    channel = message.get("channel")
                    if isinstance(channel, bytes):
                        channel = channel.decode()
                    if message.get("type") == "pmessage" and channel:
                        yield channel.removeprefix(CANCEL_CHANNEL_PREFIX)
        except (RedisError, OSError) as exc:
            log.warning("cancel subscription lost, retrying: %s", exc)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
