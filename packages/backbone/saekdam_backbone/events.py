"""Publishing task events on Redis pub/sub (one channel; each API process fans out)."""

from redis.asyncio import Redis

from saekdam_contracts.events import TaskEvent
from saekdam_contracts.redis_keys import TASK_EVENTS_CHANNEL


class EventPublisher:
    def __init__(self, redis: Redis, channel: str = TASK_EVENTS_CHANNEL):
        self._redis = redis
        self._channel = channel

    async def publish(self, event: TaskEvent | None) -> None:
        # The task row already holds this state, so a lost publish costs latency, not data:
        # websockets resync from the row (see the API's event hub).
        if event is not None:
            await self._redis.publish(self._channel, event.model_dump_json())
