"""Rate limits counted in Redis, so every replica of a service shares them.

A moving window (the `limits` library's exact log of hits): unlike a fixed window it never
lets 2x the limit through around a window edge. Signed-in callers are counted per user,
everyone else per address.
"""

import math
import time

from fastapi import Depends, Request
from limits import RateLimitItemPerMinute
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from saekdam_backbone.users import User
from saekdam_contracts.redis_keys import RATE_LIMIT_PREFIX

from .auth import OptionalUser
from .errors import TooManyRequests


class RateLimiter:
    """Named families of routes, each with its own per-minute limit."""

    def __init__(self, redis_url: str, per_minute: dict[str, int], timeout_s: float = 1.5):
        # Bounded like every other Redis call of a request: a frozen Redis is a 503, not a hang.
        self._storage = RedisStorage(
            "async+" + redis_url,
            implementation="redispy",
            key_prefix=RATE_LIMIT_PREFIX,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
        )
        self._strategy = MovingWindowRateLimiter(self._storage)
        self._rules = {name: RateLimitItemPerMinute(n) for name, n in per_minute.items()}

    async def hit(self, family: str, identity: str) -> None:
        rule = self._rules[family]
        if not await self._strategy.hit(rule, family, identity):
            stats = await self._strategy.get_window_stats(rule, family, identity)
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
            raise TooManyRequests(
                "rate_limited",
                f"too many {family} requests; at most {rule.amount} a minute",
                headers={"Retry-After": str(retry_after)},
            )

    async def aclose(self) -> None:
        bridge = getattr(self._storage, "bridge", None)
        client = getattr(bridge, "storage", None)
        if client is not None and hasattr(client, "aclose"):
            await client.aclose()


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def caller_identity(request: Request, user: User | None) -> str:
    return f"user:{user.id}" if user is not None else f"addr:{client_address(request)}"


class RateLimit:
    """A route dependency: `dependencies=[RateLimit("posts")]` or a parameter.

    It depends on the caller itself (`OptionalUser`), so it counts per user whatever the
    order of the route's other parameters.
    """

    def __init__(self, family: str):
        self.family = family

    async def __call__(self, request: Request, user: OptionalUser) -> None:
        limiter: RateLimiter = request.app.state.rate_limiter
        await limiter.hit(self.family, caller_identity(request, user))


def rate_limited(family: str):
    return Depends(RateLimit(family))
