"""The edge against a running stack, as an attacker meets it (issue 13): the real API and
posture processes behind the public Caddy, each port tried.

- A 64 MB body to the unauthenticated login is a 413 `request_too_large`, and the server
  stops taking it long before 64 MB, whether its length is declared or it comes chunked.
- Control characters in a path or query, an unknown method and bytes that are not HTTP are
  4xx in the error shape (Caddy's own plain-text 400 for a raw control character aside, see
  tests/test_proxy.py).
- X-Forwarded-For is believed from the proxy's address only: a client rotating it, through
  the public port or on the API's own port, is still counted as itself for the login limit.
"""

import secrets
from collections.abc import Iterator
from itertools import count

import httpx
import pytest

from infra.processes import free_port, start_proxy, stop, trusted_proxy_env
from tests.fixtures.browser import start_posture
from tests.fixtures.raw_http import post_huge_body, raw_request
from tests.fixtures.services import fresh_sqlite_database
from tests.fixtures.system import System, start_system, storage_env

pytestmark = pytest.mark.slow

AUTH_PER_MIN = 3
HUGE = 64 * 1024 * 1024
# A /16 of loopback of this module's own, so no other test's count is shared.
NET = f"127.{secrets.randbelow(200) + 20}"
_addresses = count(1)


def fresh_address() -> str:
    n = next(_addresses)
    return f"{NET}.{n // 250}.{n % 250 + 1}"


@pytest.fixture(scope="module")
def edge(tmp_path_factory, redis_url) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("edge")
    system: System = start_system(
        root,
        database_url=fresh_sqlite_database(root),
        redis_url=redis_url,
        storage_env=storage_env("local", root, None),
        workers=0,
        RATE_AUTH_PER_MIN=str(AUTH_PER_MIN),
        # Believed from the proxy's address only, as `make run` starts the services.
        **trusted_proxy_env(),
    )
    posture = proxy = None
    try:
        posture_port = free_port()
        posture = start_posture(system, posture_port)
        proxy_port = free_port()
        proxy = start_proxy(
            proxy_port,
            system.base_url.removeprefix("http://"),
            f"127.0.0.1:{posture_port}",
            root / "caddy",
        )
        yield {
            "api": ("127.0.0.1", int(system.env["PORT"])),
            "posture": ("127.0.0.1", posture_port),
            "proxy": ("127.0.0.1", proxy_port),
        }
    finally:
        for process in (proxy, posture):
            if process is not None:
                stop(process)
        system.shutdown()


def url(address: tuple[str, int]) -> str:
    return f"http://{address[0]}:{address[1]}"


def assert_error(status: int, body: dict, expected_status: int, code: str) -> None:
    assert status == expected_status, body
    assert body["error"]["code"] == code
    assert body["error"]["message"]


# (No posture route reads a body: a chunked one is never taken there at all.)
@pytest.mark.parametrize(
    ("port", "chunked"),
    [("api", False), ("api", True), ("posture", False), ("proxy", False), ("proxy", True)],
)
def test_a_64_mb_body_to_login_is_refused_without_being_read(edge, port, chunked):
    path = "/v1/posture/sessions" if port == "posture" else "/v1/auth/login"
    response = post_huge_body(edge[port], path, HUGE, chunked=chunked)
    assert_error(response.status, response.json(), 413, "request_too_large")
    assert response.headers["content-type"] == "application/json"
    # Refused at once (declared) or at the 1 MiB cap (chunked); what went out beyond that
    # is what the socket buffers on the way held.
    assert response.sent < (1 << 20) + 12 * 1024 * 1024, response.sent


@pytest.mark.parametrize("port", ["api", "posture", "proxy"])
@pytest.mark.parametrize(
    "path",
    [
        "/v1/tasks/%00",
        "/v1/tasks/%01",
        "/v1/tasks/%1F",
        "/v1/tasks/%7f",
        "/v1/posts/%0A",
        "/v1/users/%00",
        "/v1/posture/sessions/%00",
        "/v1/tasks?cursor=%00",
    ],
)
async def test_control_characters_in_a_path_are_a_400_in_the_error_shape(edge, port, path):
    # With a token or without: refused before authentication, routing or the database (where
    # PostgreSQL refused a NUL in an id with a 500).
    async with httpx.AsyncClient(base_url=url(edge[port])) as http:
        response = await http.get(path, headers={"Authorization": "Bearer not-checked"})
    assert response.headers["content-type"] == "application/json"
    assert_error(response.status_code, response.json(), 400, "invalid_path")


@pytest.mark.parametrize("port", ["api", "posture"])
@pytest.mark.parametrize("raw", [b"\x00", b"\x01", b"\x1f", b"\x7f"], ids=repr)
def test_a_raw_control_character_is_a_400_in_the_error_shape(edge, port, raw):
    request = b"GET /v1/tasks/" + raw + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    response = raw_request(edge[port], request)
    assert response.headers["content-type"] == "application/json"
    assert_error(response.status, response.json(), 400, "malformed_request")


@pytest.mark.parametrize("port", ["api", "posture", "proxy"])
@pytest.mark.parametrize("method", ["FOO", "BREW"])
async def test_an_unknown_method_is_a_405_in_the_error_shape(edge, port, method):
    async with httpx.AsyncClient(base_url=url(edge[port])) as http:
        response = await http.request(method, "/v1/tasks/1")
    assert response.headers["content-type"] == "application/json"
    assert_error(response.status_code, response.json(), 405, "method_not_allowed")


async def logins(base_url: str, local_address: str | None, n: int, rotate: bool) -> list[int]:
    """`n` wrong-password logins, each claiming another X-Forwarded-For when `rotate`."""
    transport = httpx.AsyncHTTPTransport(local_address=local_address)
    wrong = {"email": f"nobody-{secrets.token_hex(4)}@example.com", "password": "not it"}
    statuses = []
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
        for i in range(n):
            claim = {"X-Forwarded-For": f"10.{i}.{i}.{i + 1}"} if rotate else {}
            response = await http.post("/v1/auth/login", json=wrong, headers=claim)
            statuses.append(response.status_code)
    return statuses


async def test_rotating_x_forwarded_for_through_the_proxy_still_hits_the_login_limit(edge):
    here = fresh_address()
    statuses = await logins(url(edge["proxy"]), here, AUTH_PER_MIN + 2, rotate=True)
    assert statuses == [401] * AUTH_PER_MIN + [429, 429]
    # The proxy's word is believed: another client through it has a count of its own.
    assert await logins(url(edge["proxy"]), fresh_address(), 1, rotate=False) == [401]


async def test_rotating_x_forwarded_for_on_the_apis_own_port_still_hits_the_login_limit(edge):
    # From 127.0.0.1 itself, the address uvicorn believed by default: the one local clients
    # (and, before, the proxy) call from.
    statuses = await logins(url(edge["api"]), None, AUTH_PER_MIN + 2, rotate=True)
    assert statuses == [401] * AUTH_PER_MIN + [429, 429]
