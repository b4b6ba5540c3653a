"""The rate limiter on real Redis: N hits pass and the N+1-th is 429 `rate_limited` with
Retry-After, per identity (the user when its token is valid, else the address); a moving
window, so nothing like 2x the limit gets through around a window edge (a fake clock stands
in for the minute)."""

import secrets
import uuid

import httpx
import pytest
from fastapi import FastAPI
from limits.aio.storage.redis import redispy

import saekdam_web.ratelimit as ratelimit
from saekdam_backbone.db import Base, create_engine, create_sessions
from saekdam_backbone.tokens import issue_token
from saekdam_backbone.users import User
from saekdam_web.auth import Authenticator, CurrentUser
from saekdam_web.errors import TooManyRequests, install_error_handlers
from saekdam_web.ratelimit import RateLimiter, caller_identity, rate_limited

SECRET = secrets.token_urlsafe(32)
LIMIT = 3


@pytest.fixture
async def sessions(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'users.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all, tables=[User.__table__])
    yield create_sessions(engine)
    await engine.dispose()


async def new_user(sessions) -> tuple[str, dict]:
    """A user row, and the headers of a valid token for it."""
    user_id = str(uuid.uuid4())
    async with sessions() as session, session.begin():
        session.add(User(id=user_id, username=f"u{secrets.token_hex(4)}"))
    token = issue_token(user_id, SECRET, 600).token
    return user_id, {"Authorization": f"Bearer {token}"}


@pytest.fixture
def family() -> str:
    """A family of this test's own, so no other test shares its counts in Redis."""
    return f"fam{secrets.token_hex(4)}"


@pytest.fixture
async def limiter(redis_url, family):
    limiter = RateLimiter(redis_url, {family: LIMIT, "other": LIMIT})
    yield limiter
    await limiter.aclose()


def tiny_app(limiter: RateLimiter, sessions, family: str) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.state.rate_limiter = limiter
    app.state.authenticator = Authenticator(SECRET, sessions)

    @app.post("/write", dependencies=[rate_limited(family)])
    async def write():
        return {"ok": True}

    # As a parameter after the user, the way the tasks routes declare it.
    @app.post("/mine")
    async def mine(user: CurrentUser, _=rate_limited(family)):
        return {"user": user.id}

    @app.post("/other", dependencies=[rate_limited("other")])
    async def other():
        return {"ok": True}

    return app


@pytest.fixture
async def connect(limiter, sessions, family):
    """`connect(address)`: an HTTP client to the tiny app, as seen from `address`."""
    clients: list[httpx.AsyncClient] = []
    app = tiny_app(limiter, sessions, family)

    def make(address: str = "10.0.0.1", app: FastAPI = app) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://testserver"))
        return clients[-1]

    yield make
    for client in clients:
        await client.aclose()


def assert_limited(response: httpx.Response, family: str) -> None:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    assert f"too many {family} requests; at most {LIMIT} a minute" == error["message"]
    assert 1 <= int(response.headers["Retry-After"]) <= 60


async def test_n_requests_pass_and_the_next_is_429_with_retry_after(connect, family):
    http = connect()
    for _ in range(LIMIT):
        assert (await http.post("/write")).status_code == 200
    for _ in range(2):  # refusals are not counted, but do not reset anything either
        assert_limited(await http.post("/write"), family)


async def test_anonymous_callers_are_counted_per_address(connect, family):
    here, there = connect("10.0.0.1"), connect("10.0.0.2")
    for _ in range(LIMIT):
        assert (await here.post("/write")).status_code == 200
    assert_limited(await here.post("/write"), family)
    for _ in range(LIMIT):
        assert (await there.post("/write")).status_code == 200
    assert_limited(await there.post("/write"), family)


async def test_signed_in_callers_are_counted_per_user_not_address(connect, sessions, family):
    _, alice = await new_user(sessions)
    _, bob = await new_user(sessions)
    home, away = connect("10.0.0.1"), connect("10.9.9.9")
    for i in range(LIMIT):
        assert (await (home if i % 2 else away).post("/write", headers=alice)).status_code == 200
    assert_limited(await home.post("/write", headers=alice), family)
    assert_limited(await connect("10.7.7.7").post("/write", headers=alice), family)

    # Bob, from Alice's address, and that address's anonymous callers have budgets of their own.
    for _ in range(LIMIT):
        assert (await home.post("/write", headers=bob)).status_code == 200
    for _ in range(LIMIT):
        assert (await home.post("/write")).status_code == 200
    assert_limited(await home.post("/write"), family)


async def test_a_refused_token_is_counted_against_the_address(connect, sessions, family):
    _, alice = await new_user(sessions)
    http = connect("10.0.0.5")
    forged = {"Authorization": "Bearer " + issue_token(str(uuid.uuid4()), "wrong" * 8, 600).token}
    calls = [{"Authorization": "Bearer garbage"}, forged, {"Authorization": "Basic abc"}]
    for headers in calls:
        assert (await http.post("/write", headers=headers)).status_code == 200
    assert_limited(await http.post("/write"), family)
    # A valid token from the same address is its own caller.
    assert (await http.post("/write", headers=alice)).status_code == 200


async def test_a_limit_declared_as_a_parameter_counts_per_user(connect, sessions, family):
    user_id, alice = await new_user(sessions)
    http = connect()
    for _ in range(LIMIT):
        response = await http.post("/mine", headers=alice)
        assert response.json() == {"user": user_id}
    assert_limited(await http.post("/mine", headers=alice), family)
    # The same family whichever route: /write shares Alice's count.
    assert_limited(await http.post("/write", headers=alice), family)


async def test_families_are_counted_apart(connect, family):
    http = connect("10.0.0.8")
    for _ in range(LIMIT):
        assert (await http.post("/write")).status_code == 200
    assert_limited(await http.post("/write"), family)
    # "other" is shared by every test, so from an address no other test uses.
    elsewhere = connect(f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.9")
    assert (await elsewhere.post("/other")).status_code == 200


async def test_replicas_share_the_count_through_redis(redis_url, sessions, family, connect):
    replicas = [RateLimiter(redis_url, {family: LIMIT, "other": LIMIT}) for _ in range(2)]
    try:
        clients = [connect("10.0.0.3", tiny_app(r, sessions, family)) for r in replicas]
        for i in range(LIMIT):
            assert (await clients[i % 2].post("/write")).status_code == 200
        assert_limited(await clients[LIMIT % 2].post("/write"), family)
        assert_limited(await clients[(LIMIT + 1) % 2].post("/write"), family)
    finally:
        for replica in replicas:
            await replica.aclose()


def test_caller_identity_names_the_user_else_the_address():
    class Request:
        client = type("Client", (), {"host": "10.1.2.3"})()

    class NoClient:
        client = None

    user = User(id="u-1", username="someone")
    assert caller_identity(Request(), user) == "user:u-1"
    assert caller_identity(Request(), None) == "addr:10.1.2.3"
    assert caller_identity(NoClient(), None) == "addr:unknown"


class Clock:
    """Stands in for `time` in the limiter (its Redis timestamps and Retry-After)."""

    def __init__(self, now: float):
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    # Half a second before a minute boundary: where a fixed window would reset.
    import time

    clock = Clock((time.time() // 60 + 1) * 60 - 0.5)
    monkeypatch.setattr(redispy, "time", clock)
    monkeypatch.setattr(ratelimit, "time", clock)
    return clock


async def allowed(limiter: RateLimiter, family: str, identity: str) -> bool:
    try:
        await limiter.hit(family, identity)
    except TooManyRequests as refused:
        assert refused.code == "rate_limited" and refused.status_code == 429
        return False
    return True


async def test_a_window_edge_does_not_let_twice_the_limit_through(limiter, family, clock):
    start = clock.now
    assert [await allowed(limiter, family, "addr:a") for _ in range(LIMIT + 1)] == [
        True,
        True,
        True,
        False,
    ]
    clock.now = start + 1  # a new minute has begun: a fixed window would allow 3 more
    assert not await allowed(limiter, family, "addr:a")
    clock.now = start + 59.9
    assert not await allowed(limiter, family, "addr:a")
    # Another identity was never limited meanwhile.
    assert await allowed(limiter, family, "addr:b")

    clock.now = start + 60.1  # the three hits have left the window; refusals never counted
    assert [await allowed(limiter, family, "addr:a") for _ in range(LIMIT + 1)] == [
        True,
        True,
        True,
        False,
    ]


async def test_the_window_moves_one_hit_at_a_time(limiter, family, clock):
    start = clock.now
    for offset in (0, 20, 40):
        clock.now = start + offset
        assert await allowed(limiter, family, "user:x")
    clock.now = start + 59.9
    assert not await allowed(limiter, family, "user:x")
    clock.now = start + 60.1  # only the first hit has left: one more, not three
    assert await allowed(limiter, family, "user:x")
    assert not await allowed(limiter, family, "user:x")
    clock.now = start + 80.1
    assert await allowed(limiter, family, "user:x")
    assert not await allowed(limiter, family, "user:x")


async def test_retry_after_counts_down_to_the_oldest_hit_leaving(limiter, family, clock):
    start = clock.now
    for _ in range(LIMIT):
        await limiter.hit(family, "addr:c")
    clock.now = start + 15
    with pytest.raises(TooManyRequests) as refused:
        await limiter.hit(family, "addr:c")
    assert refused.value.headers == {"Retry-After": "45"}
    clock.now = start + 59.9
    with pytest.raises(TooManyRequests) as refused:
        await limiter.hit(family, "addr:c")
    assert refused.value.headers == {"Retry-After": "1"}  # never 0


async def test_a_client_that_waits_retry_after_gets_through(limiter, family, clock):
    start = clock.now
    for _ in range(LIMIT):
        await limiter.hit(family, "addr:d")
    clock.now = start + 58.6  # 1.4 s to go
    with pytest.raises(TooManyRequests) as refused:
        await limiter.hit(family, "addr:d")
    clock.now += int(refused.value.headers["Retry-After"])
    assert await allowed(limiter, family, "addr:d")
