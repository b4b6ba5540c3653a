"""What the running workers can do right now, from their advertisements in Redis (each
worker writes its own; the API's catalogue and queue and the fair dispatcher read them)."""

import logging

from pydantic import ValidationError
from redis.asyncio import Redis

from saekdam_contracts.capabilities import WorkerCapabilities
from saekdam_contracts.redis_keys import WORKER_PREFIX

log = logging.getLogger(__name__)


async def live_workers(redis: Redis) -> list[WorkerCapabilities]:
    """Every unexpired worker advertisement; one that does not parse is skipped, not fatal."""
    keys = [key async for key in redis.scan_iter(match=WORKER_PREFIX + "*", count=100)]
    values = await redis.mget(keys) if keys else []
    workers: list[WorkerCapabilities] = []
    for key, value in zip(keys, values, strict=True):
        if value is None:  # expired between the scan and the read
            continue
        try:
            workers.append(WorkerCapabilities.model_validate_json(value))
        except ValidationError as error:
            log.warning(
                "skipping a malformed worker advertisement",
                extra={"key": key.decode() if isinstance(key, bytes) else key, "error": str(error)},
            )
    return workers
