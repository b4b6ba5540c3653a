"""The request guards on a tiny app: bodies over the cap are 413 `request_too_large` without
being read (a Content-Length over it: not a byte; a chunked body: cut off at the cap), a path
of its own may take more, and control characters in a path or query are 400 `invalid_path`
before any route sees them."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request, WebSocket
from starlette.responses import JSONResponse
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from saekdam_web.errors import install_error_handlers
from saekdam_web.guards import RequestGuards, install_request_guards

CAP = 4096
UPLOAD_CAP = 3 * CAP
CHUNK = 1024


def tiny_app() -> tuple[FastAPI, list[str]]:
    seen: list[str] = []
    app = FastAPI()
    install_request_guards(app, CAP, {"/upload": UPLOAD_CAP})
    install_error_handlers(app)

    @app.post("/login")
    async def login(body: dict):
        seen.append("login")
        return {"keys": sorted(body)}

    @app.post("/upload")
    async def upload(request: Request):
        return {"size": len(await request.body())}

    @app.post("/stream")
    async def stream(request: Request):
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return {"size": size}

    @app.get("/things/{thing_id}")
    async def thing(thing_id: str, q: str = ""):
        seen.append(thing_id)
        return {"id": thing_id, "q": q}

    @app.websocket("/ws/{name}")
    async def ws(websocket: WebSocket, name: str):
        await websocket.accept()
        await websocket.send_text(name)
        await websocket.close()

    return app, seen


class Counted:
    """A streamed request body of `total` bytes that counts how much the server took."""

    def __init__(self, total: int, chunk: int = CHUNK):
        self.total, self.chunk, self.consumed = total, chunk, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"a": "'
        while self.consumed < self.total:
            self.consumed += self.chunk
            yield b"x" * self.chunk
        yield b'"}'


@pytest.fixture
def app() -> tuple[FastAPI, list[str]]:
    return tiny_app()


@pytest.fixture
async def client(app):
    transport = httpx.ASGITransport(app=app[0])
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


async def test_a_content_length_over_the_cap_is_refused_before_a_byte_is_read(client, app):
    body = Counted(64 * 1024 * 1024)
    response = await client.post(
        "/login", content=body, headers={"Content-Length": str(64 * 1024 * 1024 + 9)}
    )
    assert_error(response, 413, "request_too_large")
    assert str(CAP) in response.json()["error"]["message"]
    assert response.headers["connection"] == "close"
    assert body.consumed == 0
    assert app[1] == []  # the route never ran


async def test_a_chunked_body_is_cut_off_at_the_cap(client, app):
    body = Counted(64 * 1024 * 1024)
    response = await client.post("/login", content=body)  # no Content-Length: streamed
    assert_error(response, 413, "request_too_large")
    assert body.consumed <= CAP + 2 * CHUNK
    assert app[1] == []


async def test_a_body_read_as_a_stream_is_cut_off_too(client):
    body = Counted(10 * CAP)
    assert_error(await client.post("/stream", content=body), 413, "request_too_large")
    assert body.consumed <= CAP + 2 * CHUNK


async def test_a_body_of_exactly_the_cap_is_taken(client):
    payload = b"x" * CAP
    assert (await client.post("/stream", content=payload)).json() == {"size": CAP}
    assert_error(await client.post("/stream", content=payload + b"x"), 413, "request_too_large")


async def test_a_path_of_its_own_takes_its_own_cap(client):
    assert (await client.post("/upload", content=b"x" * UPLOAD_CAP)).json() == {"size": UPLOAD_CAP}
    body = Counted(10 * UPLOAD_CAP)
    assert_error(await client.post("/upload", content=body), 413, "request_too_large")
    assert body.consumed <= UPLOAD_CAP + 2 * CHUNK
    # ... and no other path does.
    assert_error(await client.post("/stream", content=b"x" * UPLOAD_CAP), 413, "request_too_large")


async def test_a_body_read_outside_the_error_handlers_is_refused_in_the_same_shape():
    async def raw_app(scope, receive, send):  # reads the body itself, no handlers around it
        size, more = 0, True
        while more:
            message = await receive()
            size, more = size + len(message.get("body", b"")), message.get("more_body", False)
        await JSONResponse({"size": size})(scope, receive, send)

    guarded = RequestGuards(raw_app, CAP)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=guarded), base_url="http://test"
    ) as http:
        assert_error(await http.post("/", content=Counted(10 * CAP)), 413, "request_too_large")
        assert (await http.post("/", content=b"{}")).json() == {"size": 2}


@pytest.mark.parametrize(
    "path",
    [
        "/things/%00",
        "/things/%01",
        "/things/%0A",
        "/things/%0d",
        "/things/%1f",
        "/things/%1F",
        "/things/%7f",
        "/things/a%00b",
        "/things/x?q=%00",
        "/things/x?q=a%0Ab",
        "/things/x?q%7F=1",
        "/nowhere/%00",
    ],
)
async def test_control_characters_in_a_path_or_query_are_refused_before_any_route(
    client, app, path
):
    assert_error(await client.get(path), 400, "invalid_path")
    assert app[1] == []


@pytest.mark.parametrize("path", ["/things/abc", "/things/%20", "/things/%7e", "/things/caf%C3%A9"])
async def test_other_escapes_pass(client, path):
    response = await client.get(path, params={"q": "a b+c"})
    assert response.status_code == 200, response.text
    assert response.json()["q"] == "a b+c"


def test_a_websocket_with_control_characters_is_refused_and_others_pass(app):
    with TestClient(app[0]) as http:
        with http.websocket_connect("/ws/ok") as ws:
            assert ws.receive_text() == "ok"
        with pytest.raises(WebSocketDisconnect), http.websocket_connect("/ws/%00"):
            pass
