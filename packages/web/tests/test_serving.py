"""What uvicorn answers itself, with the services' protocol: a request its parser refuses (an
unknown method, a raw control character, bytes that are not HTTP) in the JSON error shape,
over a real socket; and forwarding headers believed only from FORWARDED_ALLOW_IPS."""

import contextlib
import json
import socket
import threading
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI, Request

from saekdam_web.errors import install_error_handlers
from saekdam_web.serving import JsonErrorsHttpToolsProtocol, forwarding_options


def tiny_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/things/{thing_id}")
    async def thing(thing_id: str, request: Request):
        return {"id": thing_id, "client": request.client.host}

    return app


@contextlib.contextmanager
def serving(**options) -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(tiny_app(), host="127.0.0.1", port=port, log_level="error", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            threading.Event().wait(0.05)
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with serving(http=JsonErrorsHttpToolsProtocol) as port:
        yield port


def exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode().split("\r\n")
    headers = {name.lower(): value for name, value in (line.split(": ", 1) for line in lines)}
    return int(status_line.split()[1]), headers, body


def request_line(line: bytes) -> bytes:
    return line + b"\r\nHost: test\r\nConnection: close\r\n\r\n"


@pytest.mark.parametrize("method", [b"FOO", b"BREW", b"G3T"])
def test_an_unknown_method_is_a_405_in_the_error_shape(port, method):
    status, headers, body = exchange(port, request_line(method + b" /things/1 HTTP/1.1"))
    assert status == 405
    assert headers["content-type"] == "application/json"
    assert "GET" in headers["allow"]
    assert json.loads(body)["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    "request_bytes",
    [
        request_line(b"GET /things/\x00 HTTP/1.1"),
        request_line(b"GET /things/\x01 HTTP/1.1"),
        request_line(b"GET /things/\x1f HTTP/1.1"),
        request_line(b"GET /things/\x7f HTTP/1.1"),
        request_line(b"GET /things/\t HTTP/1.1"),
        b"GET /things/1 HTTP/1.1\r\nHost: test\r\nX-Bad\x01: 1\r\n\r\n",
        b"GET /things/1 HTTP/9\r\n\r\n",
    ],
    ids=["nul", "soh", "us", "del", "tab", "header", "version"],
)
def test_a_request_the_parser_refuses_is_a_400_in_the_error_shape(port, request_bytes):
    status, headers, body = exchange(port, request_bytes)
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert json.loads(body)["error"]["code"] == "malformed_request"


def test_a_good_request_on_the_same_server_is_served(port):
    status, _, body = exchange(port, request_line(b"GET /things/abc HTTP/1.1"))
    assert status == 200
    assert json.loads(body)["id"] == "abc"


def test_forwarding_headers_are_believed_only_from_forwarded_allow_ips(monkeypatch):
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    assert forwarding_options() == {"proxy_headers": False, "forwarded_allow_ips": None}
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "127.0.0.2")
    assert forwarding_options() == {"proxy_headers": True, "forwarded_allow_ips": "127.0.0.2"}

    spoofed = b"GET /things/1 HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 10.9.8.7\r\n"
    spoofed += b"Connection: close\r\n\r\n"
    monkeypatch.delenv("FORWARDED_ALLOW_IPS")
    with serving(**forwarding_options()) as unset:
        assert json.loads(exchange(unset, spoofed)[2])["client"] == "127.0.0.1"
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "127.0.0.1")
    with serving(**forwarding_options()) as trusting:
        assert json.loads(exchange(trusting, spoofed)[2])["client"] == "10.9.8.7"
