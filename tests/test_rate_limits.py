"""Rate limits across replicas: two real API processes share one Redis and one database.

For every family of limited routes, one caller's requests alternate between the two
processes, so each process alone sees at most about half of them: the N+1-th is refused
(429 `rate_limited`, Retry-After) only because the count lives in Redis. Signed-in callers
are counted per user (a second user from the very same address still gets through, and the
first stays refused from another address); anonymous callers per TCP peer address (loopback
sockets bound to different 127.x.y.z addresses).
"""

import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import count

import httpx
import pytest
from redis.asyncio import Redis

from saekdam_api.admin import apply
from saekdam_contracts.redis_keys import RATE_LIMIT_PREFIX
from tests.fixtures.system import System, start_system, storage_env

pytestmark = pytest.mark.slow

LIMITS = {
    "auth": 4,  # registering a user costs 2 (register, login), from the user's own address
    "tasks": 3,
    "uploads": 3,
    "posts": 3,
    "comments": 3,
    "likes": 3,
    "reports": 3,
    "moderation": 3,
    "account": 2,
}
# A /16 of loopback of this module's own, so reruns on one Redis never share a count.
NET = f"127.{secrets.randbelow(200) + 20}"
_user_addresses = count(1)
_spare_addresses = count(1)


def spare_address() -> str:
    """A loopback address no request has come from yet."""
    n = next(_spare_addresses)
    return f"{NET}.{100 + n // 250}.{n % 250 + 1}"


@dataclass
class Pair:
    """Two replicas of the API; request `i` goes to replica `i % 2`."""

    systems: list[System]
    database_url: str
    redis_url: str
    turn: count = field(default_factory=count)

    def next_url(self) -> str:
        return self.systems[next(self.turn) % 2].base_url


@dataclass
class Caller:
    address: str
    token: str | None = None
    email: str | None = None
    user_id: str | None = None

    async def send(
        self, base_url: str, method: str, path: str, headers: dict | None = None, **kwargs
    ) -> httpx.Response:
        auth = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        transport = httpx.AsyncHTTPTransport(local_address=self.address)
        async with httpx.AsyncClient(transport=transport, base_url=base_url, timeout=30) as http:
            return await http.request(method, path, headers=auth | (headers or {}), **kwargs)

    def at(self, address: str) -> "Caller":
        """The same caller (same token) from another address."""
        return Caller(address, self.token, self.email, self.user_id)


@pytest.fixture(scope="module")
def pair(tmp_path_factory, redis_url, sqlite_url):
    tmp = tmp_path_factory.mktemp("rate-limits")
    shared = {
        # One secret for both, so a token issued by one replica works on the other.
        "JWT_SECRET": secrets.token_urlsafe(32),
        "STORAGE_SIGNING_SECRET": secrets.token_urlsafe(32),
        **{f"RATE_{family.upper()}_PER_MIN": str(n) for family, n in LIMITS.items()},
    }
    storage = storage_env("local", tmp, None)

    def start(name: str) -> System:
        return start_system(
            tmp / name,
            database_url=sqlite_url,
            redis_url=redis_url,
            storage_env=storage,
            workers=0,
            **shared,
        )

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(start, name) for name in ("api-a", "api-b")]
    try:
        yield Pair([f.result() for f in futures], sqlite_url, redis_url)
    finally:
        for future in futures:
            if future.exception() is None:
                future.result().shutdown()


async def new_user(pair: Pair) -> Caller:
    """A registered user, signed up from an address of its own (auth is counted per address)."""
    n = next(_user_addresses)
    caller = Caller(f"{NET}.{1 + n // 250}.{n % 250 + 1}")
    email = f"rl-{secrets.token_hex(6)}@example.com"
    password = "correct horse battery"
    body = {"email": email, "username": f"rl_{secrets.token_hex(6)}", "password": password}
    registered = await caller.send(pair.next_url(), "POST", "/v1/auth/register", json=body)
    assert registered.status_code == 201, registered.text
    login = await caller.send(
        pair.next_url(), "POST", "/v1/auth/login", json={"email": email, "password": password}
    )
    assert login.status_code == 200, login.text
    caller.token, caller.email = login.json()["access_token"], email
    caller.user_id = registered.json()["id"]
    return caller


async def new_admin(pair: Pair) -> Caller:
    admin = await new_user(pair)
    assert await apply(pair.database_url, "grant", admin.email)
    return admin


def missing() -> str:
    return str(uuid.uuid4())


def assert_rate_limited(response: httpx.Response, family: str) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "rate_limited"
    assert family in response.json()["error"]["message"]
    assert 1 <= int(response.headers["Retry-After"]) <= 60


async def exhaust(pair: Pair, caller: Caller, family: str, calls: list, allowed: set[int]):
    """`LIMITS[family]` requests pass (statuses in `allowed`), then the next one is refused on
    each replica in turn. `calls` are (method, path, kwargs), cycled through."""
    limit = LIMITS[family]
    statuses = []
    for i in range(limit):
        method, path, kwargs = calls[i % len(calls)]
        response = await caller.send(pair.next_url(), method, path, **kwargs)
        statuses.append(response.status_code)
    assert set(statuses) <= allowed, statuses
    # Each replica has seen at most ceil(limit / 2) < limit of them: only a shared count
    # can refuse now, and it does on both replicas.
    for i in range(2):
        method, path, kwargs = calls[(limit + i) % len(calls)]
        assert_rate_limited(await caller.send(pair.next_url(), method, path, **kwargs), family)


async def check_per_user(pair: Pair, family: str, calls: list, allowed: set[int], make=new_user):
    """User A exhausts the family; user B from A's own address still has its whole budget, and A
    stays refused from a fresh address: counted per user, across replicas."""
    shared_address = spare_address()
    first = (await make(pair)).at(shared_address)
    second = (await make(pair)).at(shared_address)
    await exhaust(pair, first, family, calls, allowed)

    for i in range(LIMITS[family]):  # a whole budget of its own
        method, path, kwargs = calls[i % len(calls)]
        response = await second.send(pair.next_url(), method, path, **kwargs)
        assert response.status_code in allowed, response.text
    method, path, kwargs = calls[0]
    elsewhere = first.at(spare_address())
    for _ in range(2):
        assert_rate_limited(await elsewhere.send(pair.next_url(), method, path, **kwargs), family)


async def test_the_two_replicas_share_a_token_and_see_each_others_users(pair):
    user = await new_user(pair)
    for system in pair.systems:
        me = await user.send(system.base_url, "GET", "/v1/users/me")
        assert me.status_code == 200, me.text
        assert me.json()["id"] == user.user_id


async def test_auth_is_limited_per_address_across_replicas(pair):
    email = f"nobody-{secrets.token_hex(4)}@example.com"
    wrong = {"json": {"email": email, "password": "not the password"}}
    calls = [("POST", "/v1/auth/login", wrong), ("POST", "/v1/auth/guest", {})]
    here, there = Caller(spare_address()), Caller(spare_address())

    await exhaust(pair, here, "auth", calls, {200, 401})
    # The same address, whatever it claims to forward for (it is not a trusted proxy).
    spoofed = {"headers": {"X-Forwarded-For": "10.9.8.7"}, **wrong}
    assert_rate_limited(
        await here.send(pair.next_url(), "POST", "/v1/auth/login", **spoofed), "auth"
    )

    # Another address has its own count.
    assert (await there.send(pair.next_url(), "POST", "/v1/auth/login", **wrong)).status_code == 401
    assert (await there.send(pair.next_url(), "POST", "/v1/auth/guest")).status_code == 200


async def test_tasks_are_limited_per_user_across_replicas(pair):
    calls = [
        ("POST", "/v1/tasks", {}),
        ("POST", f"/v1/posts/{missing()}/remix", {}),
        ("POST", f"/v1/tasks/{missing()}/cancel", {}),
    ]
    await check_per_user(pair, "tasks", calls, {201, 404})


async def test_uploads_are_limited_per_user_across_replicas(pair):
    image = {"content_type": "image/png", "size": 1000}
    calls = [
        ("POST", "/v1/posts/uploads", {"json": image}),
        ("POST", f"/v1/tasks/{missing()}/uploads", {"json": {"role": "image", **image}}),
    ]
    await check_per_user(pair, "uploads", calls, {201, 404})


async def test_posts_are_limited_per_user_across_replicas(pair):
    post = {"title": "Whales", "body": "", "images": [{"task_id": missing()}]}
    calls = [
        ("POST", "/v1/posts", {"json": post}),
        ("PATCH", f"/v1/posts/{missing()}", {"json": {"title": "Orcas"}}),
        ("DELETE", f"/v1/posts/{missing()}", {}),
    ]
    await check_per_user(pair, "posts", calls, {400, 404, 409, 422})


async def test_comments_are_limited_per_user_across_replicas(pair):
    calls = [
        ("POST", f"/v1/posts/{missing()}/comments", {"json": {"body": "lovely"}}),
        ("PATCH", f"/v1/comments/{missing()}", {"json": {"body": "lovelier"}}),
        ("DELETE", f"/v1/comments/{missing()}", {}),
    ]
    await check_per_user(pair, "comments", calls, {404})


async def test_likes_are_limited_per_user_across_replicas(pair):
    calls = [
        ("PUT", f"/v1/posts/{missing()}/like", {}),
        ("DELETE", f"/v1/posts/{missing()}/like", {}),
    ]
    await check_per_user(pair, "likes", calls, {404})


async def test_reports_are_limited_per_user_across_replicas(pair):
    calls = [("POST", f"/v1/posts/{missing()}/report", {"json": {"reason": "spam"}})]
    await check_per_user(pair, "reports", calls, {404})


async def test_moderation_is_limited_per_admin_across_replicas(pair):
    calls = [
        ("PUT", f"/v1/admin/posts/{missing()}/hidden", {}),
        ("DELETE", f"/v1/admin/posts/{missing()}/hidden", {}),
        ("PUT", f"/v1/admin/comments/{missing()}/hidden", {}),
        ("DELETE", f"/v1/admin/comments/{missing()}/hidden", {}),
    ]
    await check_per_user(pair, "moderation", calls, {404}, make=new_admin)


async def test_moderation_refusals_of_non_admins_count_too(pair):
    user = await new_user(pair)
    calls = [("PUT", f"/v1/admin/posts/{missing()}/hidden", {})]
    await exhaust(pair, user, "moderation", calls, {403})


async def test_account_deletion_is_limited_per_address_without_a_valid_token(pair):
    """Every valid DELETE /v1/users/me ends the user, so a user cannot make N+1 of them:
    refused tokens are counted per address (the limiter runs before the 401), and a
    signed-in user is counted as itself, not against its exhausted address."""
    here, there = Caller(spare_address(), token="garbage"), Caller(spare_address(), "garbage")
    calls = [("DELETE", "/v1/users/me", {})]
    await exhaust(pair, here, "account", calls, {401})
    assert (await there.send(pair.next_url(), "DELETE", "/v1/users/me")).status_code == 401

    users = [(await new_user(pair)).at(here.address) for _ in range(2)]
    for user in users:
        gone = await user.send(pair.next_url(), "DELETE", "/v1/users/me")
        assert gone.status_code == 204, gone.text
        assert (await user.send(pair.next_url(), "GET", "/v1/users/me")).status_code == 401

    # Each deletion was one hit in the shared store, under the user (not the address).
    redis = Redis.from_url(pair.redis_url)
    try:
        for user in users:
            keys = [k async for k in redis.scan_iter(f"{RATE_LIMIT_PREFIX}*account/user:*")]
            mine = [k for k in keys if f"/user:{user.user_id}/".encode() in k]
            assert len(mine) == 1, keys
            assert await redis.llen(mine[0]) == 1
    finally:
        await redis.aclose()
