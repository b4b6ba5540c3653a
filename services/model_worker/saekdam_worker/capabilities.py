"""Each worker says in Redis what it can run; `GET /v1/themes` and `/v1/styles` read it."""

import asyncio
import logging
from collections.abc import Callable

from redis.asyncio import Redis

from saekdam_contracts.capabilities import WorkerCapabilities, worker_key

log = logging.getLogger(__name__)

ADVERTISE_EVERY_S = 10
# A worker that stops refreshing disappears from the catalogue after this.
ADVERTISEMENT_TTL_S = 30


async def advertise_forever(
    redis: Redis, worker_id: str, describe: Callable[[], WorkerCapabilities]
) -> None:
    key = worker_key(worker_id)
    try:
        while True:
            try:
                capabilities = await asyncio.to_thread(describe)  # looks at the disk
                await redis.set(key, capabilities.model_dump_json(), ex=ADVERTISEMENT_TTL_S)
            except Exception:  # noqa: BLE001 - retried at the next interval
                log.warning("could not advertise capabilities", exc_info=True)
            await asyncio.sleep(ADVERTISE_EVERY_S)
    finally:
        try:
            await redis.delete(key)
        except Exception:  # noqa: BLE001 - shutting down anyway; the TTL cleans up
            pass
