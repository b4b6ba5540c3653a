"""The public port's Caddy (infra/proxy/Caddyfile, as compose runs it) in front of the API,
the posture service and the web client's server: which one each path reaches, over HTTP and
websockets, and what they are told; and the web client's own Caddy (services/web/Caddyfile)
serving its built files."""

import contextlib
import json
import subprocess
import threading
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from infra.processes import (
    CADDYFILE,
    WEB_CADDYFILE,
    caddy_binary,
    free_port,
    port_open,
    proxy_env,
    proxy_source_address,
    start_proxy,
    start_web,
    stop,
    trusted_proxy_env,
    wait_for,
    web_env,
)
from tests.fixtures.raw_http import post_huge_body, raw_request


def _echo_app(name: str) -> Starlette:
    """Says which service answered, for which path, with which forwarded headers."""

    async def http(request: Request):
        return JSONResponse(
            {
                "service": name,
                "path": request.url.path,
                "query": request.url.query,
                "body": (await request.body()).decode(),
                "x_forwarded_for": request.headers.get("x-forwarded-for"),
                "x_forwarded_proto": request.headers.get("x-forwarded-proto"),
                "x_forwarded_host": request.headers.get("x-forwarded-host"),
                "authorization": request.headers.get("authorization"),
                "forwarded": request.headers.get("forwarded"),
                "x_real_ip": request.headers.get("x-real-ip"),
                "peer": request.client.host,
            }
        )

    async def websocket(ws: WebSocket):
        await ws.accept()
        await ws.send_json({"service": name, "path": ws.url.path})
        async for message in ws.iter_text():
            await ws.send_text(f"{name}: {message}")

    return Starlette(
        routes=[
            WebSocketRoute("/{path:path}", websocket),
            Route("/{path:path}", http, methods=["GET", "POST"]),
        ]
    )


@contextlib.contextmanager
def _serve(app: Starlette) -> Iterator[str]:
    port = free_port()
    # No proxy headers: `peer` is the address the proxy connects from.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="error", proxy_headers=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: port_open("127.0.0.1", port), 10, "the echo service did not start")
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[dict]:
    workdir = tmp_path_factory.mktemp("caddy")
    with (
        _serve(_echo_app("api")) as api,
        _serve(_echo_app("posture")) as posture,
        _serve(_echo_app("web")) as web,
    ):
        port = free_port()
        proxy = start_proxy(port, api, posture, workdir, web_upstream=web)
        try:
            yield {"base_url": f"http://127.0.0.1:{port}", "workdir": workdir, "api": api}
        finally:
            stop(proxy)


@pytest.mark.parametrize("caddyfile", [CADDYFILE, WEB_CADDYFILE], ids=["proxy", "web"])
def test_the_caddyfiles_validate_with_the_defaults_compose_uses_and_with_make_runs(
    tmp_path, caddyfile
):
    made = (
        proxy_env(8000, "127.0.0.1:1", "127.0.0.1:2", tmp_path, web_upstream="127.0.0.1:3")
        if caddyfile == CADDYFILE
        else web_env(8001, tmp_path, tmp_path)
    )
    for env in ({}, made):
        checked = subprocess.run(
            [caddy_binary(), "validate", "--config", str(caddyfile), "--adapter", "caddyfile"],
            env={"PATH": "", "HOME": str(tmp_path), **env},
            capture_output=True,
            text=True,
        )
        assert checked.returncode == 0, checked.stderr
        assert "Valid configuration" in checked.stdout + checked.stderr


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/v1/posture", "posture"),
        ("/v1/posture/sessions", "posture"),
        ("/v1/posture/summary/daily", "posture"),
        ("/v1/posturex", "api"),
        ("/v1/tasks", "api"),
        ("/healthz", "api"),
        ("/readyz", "api"),
        ("/docs", "api"),
        ("/docs/oauth2-redirect", "api"),
        ("/redoc", "api"),
        ("/openapi.json", "api"),
        ("/", "web"),
        ("/mural", "web"),
        ("/tasks/abc", "web"),
        ("/assets/index-1a2b.js", "web"),
        ("/v1", "web"),
    ],
)
async def test_each_path_reaches_the_service_that_owns_it_with_path_and_query_kept(
    stack, path, service
):
    async with httpx.AsyncClient(base_url=stack["base_url"]) as http:
        response = await http.get(path, params={"a": "1"}, headers={"Authorization": "Bearer t"})
    assert response.status_code == 200
    echoed = response.json()
    assert (echoed["service"], echoed["path"], echoed["query"]) == (service, path, "a=1")
    assert echoed["authorization"] == "Bearer t"


async def test_a_request_body_reaches_the_api_whole(stack):
    body = json.dumps({"kind": "filter", "padding": "x" * 200_000})
    async with httpx.AsyncClient(base_url=stack["base_url"]) as http:
        response = await http.post("/v1/tasks", content=body)
    assert response.json()["body"] == body


async def test_services_are_told_the_client_address_and_not_what_the_client_claims(stack):
    async with httpx.AsyncClient(base_url=stack["base_url"]) as http:
        response = await http.get("/healthz", headers={"X-Forwarded-For": "203.0.113.9"})
    echoed = response.json()
    assert echoed["x_forwarded_for"] == "127.0.0.1"
    assert echoed["x_forwarded_proto"] == "http"
    assert echoed["x_forwarded_host"] == stack["base_url"].removeprefix("http://")


async def test_only_the_proxys_idea_of_the_client_reaches_the_services_from_its_own_address(
    stack,
):
    claims = {
        "X-Forwarded-For": "203.0.113.9, 10.0.0.1",
        "Forwarded": "for=203.0.113.9",
        "X-Real-IP": "203.0.113.9",
    }
    async with httpx.AsyncClient(base_url=stack["base_url"]) as http:
        for path in ("/v1/tasks", "/v1/posture/sessions"):
            echoed = (await http.get(path, headers=claims)).json()
            assert echoed["x_forwarded_for"] == "127.0.0.1"
            assert echoed["forwarded"] is None and echoed["x_real_ip"] is None
            # From the one address the services believe forwarding headers from.
            assert echoed["peer"] == proxy_source_address()
            assert trusted_proxy_env() == {"FORWARDED_ALLOW_IPS": echoed["peer"]}


def _address(stack) -> tuple[str, int]:
    host, port = stack["base_url"].removeprefix("http://").rsplit(":", 1)
    return host, int(port)


# The Caddyfile's default caps: MAX_REQUEST_BYTES, and the local upload form's.
CAPS = {"/v1/auth/login": 1 << 20, "/v1/posture/sessions": 1 << 20, "/v1/storage/upload": 21 << 20}


@pytest.mark.parametrize("path", list(CAPS))
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_huge_body_is_a_413_in_the_services_error_shape_without_being_taken(stack, path, chunked):
    total = 64 * 1024 * 1024
    response = post_huge_body(_address(stack), path, total, chunked=chunked)
    assert response.status == 413, response.body
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == "request_too_large"
    # A declared length over the cap is refused before the body, a chunked one at the cap:
    # beyond that, only what socket buffers hold went out, not 64 MB.
    assert response.sent < (0 if not chunked else CAPS[path]) + 12 * 1024 * 1024


async def test_bodies_up_to_the_cap_pass_and_the_upload_form_takes_more(stack):
    async with httpx.AsyncClient(base_url=stack["base_url"], timeout=30) as http:
        at_cap = await http.post("/v1/tasks", content=b"x" * 1024 * 1024)
        assert at_cap.status_code == 200 and len(at_cap.json()["body"]) == 1024 * 1024
        over = await http.post("/v1/tasks", content=b"x" * (1024 * 1024 + 1))
        assert over.status_code == 413
        assert over.json()["error"]["code"] == "request_too_large"
        upload = await http.post("/v1/storage/upload", content=b"x" * (5 * 1024 * 1024))
        assert upload.status_code == 200 and upload.json()["service"] == "api"


@pytest.mark.parametrize(
    "path",
    ["/v1/tasks/%00", "/v1/tasks/%01", "/v1/tasks/a%0Ab", "/v1/tasks/%1f", "/v1/tasks/%7F"]
    + ["/v1/posture/sessions/%00", "/healthz%00", "/mural/%0d", "/assets/a%00.js"],
)
async def test_a_path_with_control_characters_is_a_400_in_the_services_error_shape(stack, path):
    async with httpx.AsyncClient(base_url=stack["base_url"]) as http:
        response = await http.get(path)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_path"


@pytest.mark.parametrize("method", ["FOO", "PROPFIND", "TRACE", "CONNECTX"])
async def test_an_unknown_method_is_a_405_in_the_services_error_shape(stack, method):
    async with httpx.AsyncClient(base_url=stack["base_url"]) as http:
        for path in ("/v1/tasks/1", "/v1/posture/sessions", "/"):
            response = await http.request(method, path)
            assert response.status_code == 405, response.text
            assert response.json()["error"]["code"] == "method_not_allowed"
            assert "GET" in response.headers["allow"]


def test_a_raw_control_character_is_refused_by_caddys_http_server_itself(stack):
    # Go's HTTP server answers a request line it cannot parse in plain text, before any
    # handler (handle_errors included) runs: a 400, never reaching a service.
    response = raw_request(_address(stack), b"GET /v1/tasks/\x00 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.status == 400


async def test_metrics_are_not_served_on_the_public_port(stack):
    async with httpx.AsyncClient(base_url=stack["base_url"]) as http:
        assert (await http.get("/metrics")).status_code == 404


@pytest.mark.parametrize(
    ("path", "service"), [("/v1/tasks/t1/events", "api"), ("/v1/posture/stream", "posture")]
)
async def test_websockets_pass_through_to_their_service_both_ways(stack, path, service):
    url = stack["base_url"].replace("http://", "ws://") + path
    async with websockets.connect(url) as ws:
        assert json.loads(await ws.recv()) == {"service": service, "path": path}
        await ws.send("hello")
        assert await ws.recv() == f"{service}: hello"


async def test_a_service_that_does_not_answer_is_a_502_in_the_services_error_shape(tmp_path):
    port = free_port()
    proxy = start_proxy(port, f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}", tmp_path)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for path in ("/healthz", "/v1/posture/sessions", "/"):
                response = await http.get(path)
                assert response.status_code == 502
                assert response.json()["error"]["code"] == "upstream_unavailable"
    finally:
        stop(proxy)
    assert not port_open("127.0.0.1", port)


def test_two_stacks_run_side_by_side_and_keep_caddys_files_in_their_own_directory(stack, tmp_path):
    port = free_port()
    second = start_proxy(port, stack["api"], stack["api"], tmp_path)
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["service"] == "api"
        assert httpx.get(stack["base_url"] + "/healthz").status_code == 200
    finally:
        stop(second)
    assert (tmp_path / "data" / "caddy").is_dir()


def test_a_public_port_already_taken_is_said_so_before_caddy_starts(stack, tmp_path):
    taken = int(stack["base_url"].rsplit(":", 1)[1])
    with pytest.raises(RuntimeError, match="is taken"):
        start_proxy(taken, stack["api"], stack["api"], tmp_path)


def test_the_web_clients_server_serves_files_and_its_index_for_page_paths(tmp_path):
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><div id=root></div>")
    (root / "assets" / "app-1a2b.js").write_text("console.log(1)")
    port = free_port()
    web = start_web(port, root, tmp_path / "caddy")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            page = http.get("/mural/new")
            asset = http.get("/assets/app-1a2b.js")
            missing = http.get("/assets/gone-9z.js")
            index = http.get("/")
    finally:
        stop(web)
    # A page path is the app's index, revalidated on every load; a hashed asset is cached
    # for good; a missing asset is a 404, not the index.
    assert page.status_code == 200 and "id=root" in page.text
    assert page.headers["cache-control"] == "no-cache"
    assert index.text == page.text
    assert asset.status_code == 200 and asset.text == "console.log(1)"
    assert "immutable" in asset.headers["cache-control"]
    assert missing.status_code == 404
