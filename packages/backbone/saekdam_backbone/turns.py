"""Who had a turn last, per job kind, in Redis (shared by every dispatcher and API replica).
Lost with a Redis restart, which only makes the next round start from scratch."""

from redis.asyncio import Redis

from saekdam_contracts.redis_keys import FAIR_CLOCK_PREFIX, FAIR_TURNS_PREFIX


class Turns:
    def __init__(self, redis: Redis):
        self._redis = redis

    async def last(self, kind: str) -> dict[str, int]:
        raw = await self._redis.hgetall(FAIR_TURNS_PREFIX + kind)
        return {_text(k): int(v) for k, v in raw.items()}

    async def take(self, kind: str, owner_id: str) -> None:
        turn = await self._redis.incr(FAIR_CLOCK_PREFIX + kind)
        await self._redis.hset(FAIR_TURNS_PREFIX + kind, owner_id, turn)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value
