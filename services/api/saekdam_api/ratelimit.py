"""A fixed-window rate limit per client, counted in Redis so every API replica shares it."""

import time

from redis.asyncio import Redis

from saekdam_contracts.redis_keys import RATE_LIMIT_PREFIX

from .errors import TooManyRequests


async def enforce(redis: Redis, bucket: str, client: str, per_minute: int) -> None:
    window = int(time.time() // 60)
    key = f"{RATE_LIMIT_PREFIX}{bucket}:{client}:{window}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, 120)
        count, _ = await pipe.execute()
    if count > per_minute:
        raise TooManyRequests(
            "rate_limited", f"too many {bucket} requests; at most {per_minute} a minute"
        )
