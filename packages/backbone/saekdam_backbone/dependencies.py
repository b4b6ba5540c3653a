"""Redis and the database as dependencies that can fail: clients with timeouts, and the one
list of errors that mean "a dependency is unavailable" (the web edge answers them with 503
`service_unavailable` and Retry-After, never a 500 or a hang).

Without timeouts a frozen Redis (SIGSTOP, a network partition) holds every request that
touches it until the kernel gives up, minutes later; a stopped one fails at once but with an
error nobody mapped. Every command a request makes gets `timeout_s` to answer.
"""

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import exc as sa_exc

# Builtin ConnectionError covers refused and reset connections; TimeoutError is also
# asyncio's in 3.11. SQLAlchemy wraps the drivers' connection failures in these three.
DEPENDENCY_ERRORS: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    ConnectionError,
    TimeoutError,
)


def is_dependency_failure(error: BaseException) -> bool:
    """True for an error that says Redis or the database did not answer (in time)."""
    if isinstance(error, DEPENDENCY_ERRORS):
        return True
    return isinstance(error, sa_exc.DBAPIError) and bool(error.connection_invalidated)


def redis_client(url: str, timeout_s: float, *, blocking: bool = False) -> Redis:
    """A Redis client whose connects and commands give up after `timeout_s`. `blocking`:
    for a pub/sub subscriber, whose reads wait for messages on purpose (connects still time
    out, and a dead server is noticed by health checks)."""
    return Redis.from_url(
        url,
        socket_connect_timeout=timeout_s,
        socket_timeout=None if blocking else timeout_s,
        health_check_interval=30 if blocking else 0,
    )
