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
    start_proxy,
    start_web,
    stop,
    wait_for,
    web_env,
)


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
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
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
