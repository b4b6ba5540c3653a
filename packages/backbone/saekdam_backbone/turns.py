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

    async def take(self, kind: str, *owner_ids: str) -> None:
        """Each owner takes a turn, in the order given (one owner may appear twice)."""
        if not owner_ids:
            return
        last = await self._redis.incrby(FAIR_CLOCK_PREFIX + kind, len(owner_ids))
        first = last - len(owner_ids) + 1
        # Later turns overwrite earlier ones of the same owner, as taking them in turn would.
        turns = {owner: first + i for i, owner in enumerate(owner_ids)}
        await self._redis.hset(FAIR_TURNS_PREFIX + kind, mapping=turns)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value
