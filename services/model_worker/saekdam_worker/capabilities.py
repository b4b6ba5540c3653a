"""Each worker says in Redis what it can run; `GET /v1/themes` and `/v1/styles` read it."""

import asyncio
import json
import logging
from collections.abc import Callable

from redis.asyncio import Redis

from saekdam_contracts.redis_keys import WORKER_PREFIX

log = logging.getLogger(__name__)

ADVERTISE_EVERY_S = 10
# A worker that stops refreshing disappears from the catalogue after this.
ADVERTISEMENT_TTL_S = 30


async def advertise_forever(redis: Redis, worker_id: str, describe: Callable[[], dict]) -> None:
    key = WORKER_PREFIX + worker_id
    try:
        while True:
            try:
                payload = await asyncio.to_thread(describe)  # looks at the disk
                await redis.set(key, json.dumps(payload), ex=ADVERTISEMENT_TTL_S)
            except Exception:  # noqa: BLE001 - retried at the next interval
                log.warning("could not advertise capabilities", exc_info=True)
            await asyncio.sleep(ADVERTISE_EVERY_S)
    finally:
        try:
            await redis.delete(key)
        except Exception:  # noqa: BLE001 - shutting down anyway; the TTL cleans up
            pass
