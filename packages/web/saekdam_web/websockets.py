"""Websocket edge: origin check, authentication (header or first frame), close codes."""

import asyncio
import logging

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from starlette.websockets import WebSocketState

from saekdam_backbone.users import User
from saekdam_contracts.sockets import MAX_AUTH_FRAME_BYTES, AuthFrame

from .auth import Authenticator
from .errors import Unauthorized
from .messages import InvalidMessage, parse_json_message

log = logging.getLogger(__name__)

NORMAL_CLOSURE = 1000
POLICY_VIOLATION = 1008
INTERNAL_ERROR = 1011
TRY_AGAIN_LATER = 1013
# How long a close frame may take to leave the server (past a full send buffer) before the
# connection is aborted instead: a client that reads takes it at once.
CLOSE_TIMEOUT_S = 1.0
CLOSE_FLUSH_POLL_S = 0.02


class Closing(Exception):
    """Raised anywhere in a socket handler to close it with `code`. `dropped`: the client
    is let go for not reading (a send timed out, its queue overflowed): the services count
    those in `saekdam_websocket_dropped_total`."""

    def __init__(self, code: int, reason: str, *, dropped: bool = False):
        super().__init__(reason)
        self.code, self.reason, self.dropped = code, reason, dropped


async def accept_if_origin_allowed(ws: WebSocket, allowed_origins: list[str]) -> bool:
    """Browsers send `Origin`; native clients send none. A foreign origin is closed 1008."""
    origin = ws.headers.get("origin")
    if origin is not None and origin not in allowed_origins:
        await ws.close(POLICY_VIOLATION, "origin not allowed")
        return False
    await ws.accept()
    return True


def _header_token(ws: WebSocket) -> str | None:
    scheme, _, token = ws.headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


async def _first_frame_token(ws: WebSocket, timeout_s: float) -> str:
    try:
        text = await asyncio.wait_for(ws.receive_text(), timeout_s)
    except (TimeoutError, KeyError) as exc:  # KeyError: a binary frame has no "text"
        raise Closing(POLICY_VIOLATION, "authentication required") from exc
    try:
        return AuthFrame.model_validate(parse_json_message(text, MAX_AUTH_FRAME_BYTES)).token
    except (InvalidMessage, ValidationError) as exc:  # too large, too deep, not JSON, not auth
        raise Closing(POLICY_VIOLATION, "authentication required") from exc


async def authenticate(ws: WebSocket, authenticator: Authenticator, timeout_s: float) -> User:
    """The user of a valid token from the handshake header or the first text frame. Nothing
    is sent before; a missing, bad or expired token, or a gone user, closes with 1008."""
    token = _header_token(ws) or await _first_frame_token(ws, timeout_s)
    try:
        return await authenticator.user(token)
    except Unauthorized as exc:
        raise Closing(POLICY_VIOLATION, exc.code) from exc
    except Exception as exc:  # the database is unreachable: say so, not a bare 1006
        log.warning("could not look up a websocket's user", exc_info=True)
        raise Closing(INTERNAL_ERROR, "internal error") from exc


async def send_text_within(ws: WebSocket, text: str, timeout_s: float) -> None:
    """Send `text`, or raise Closing(1013, dropped) when the client has not taken it within
    `timeout_s`: its buffer is full, it stopped reading."""
    try:
        async with asyncio.timeout(timeout_s):
            await ws.send_text(text)
    except TimeoutError:
        raise Closing(TRY_AGAIN_LATER, "client is not reading", dropped=True) from None


# Where `WebSocketTransportMiddleware` keeps a connection's transport in its ASGI scope.
TRANSPORT_SCOPE_KEY = "saekdam.transport"


def _is_transport(transport) -> bool:
    return callable(getattr(transport, "abort", None)) and callable(
        getattr(transport, "get_write_buffer_size", None)
    )


class WebSocketTransportMiddleware:
    """Keeps each websocket connection's transport in its scope, for `close_quietly` to
    abort a connection whose client stopped reading (ASGI itself has no "abort").

    Under uvicorn the ASGI `send` a middleware gets is the connection protocol's bound
    `send` method (uvicorn's proxy-headers middleware and Starlette's outermost one pass it
    through for websocket scopes; Starlette wraps it only further in, before the route), and
    every uvicorn websocket protocol keeps its asyncio or uvloop transport in `transport`.
    Under any other server, or the test client, nothing is recorded and nothing aborted."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            if _is_transport(transport):
                scope[TRANSPORT_SCOPE_KEY] = transport
        await self.app(scope, receive, send)


def _transport(ws: WebSocket):
    """The connection's transport, if `WebSocketTransportMiddleware` could record it."""
    transport = ws.scope.get(TRANSPORT_SCOPE_KEY)
    return transport if _is_transport(transport) else None


def abort_connection(ws: WebSocket) -> bool:
    """Drop the TCP connection at once, unsent bytes and all; False if out of reach.

    Safe with uvicorn: `abort()` closes the socket and schedules the protocol's
    `connection_lost`, which queues `websocket.disconnect` for the app, wakes any send
    waiting for the buffer to drain (it raises: `WebSocketDisconnect`), cancels the close
    timer and removes the connection from the server's set; uvicorn's own later
    `transport.close()` on it is a no-op. `transport.close()` would not do: it waits until
    the buffer is written, which for a peer that never reads is never."""
    transport = _transport(ws)
    if transport is None:
        return False
    transport.abort()
    return True


async def _flushed(transport) -> None:
    """Until the server's buffer for the connection is empty (the close frame has reached the
    kernel) or the connection is gone."""
    while True:
        try:
            if not transport.get_write_buffer_size():
                return
        except RuntimeError:  # defensive: a transport that is gone has nothing left to send
            return
        await asyncio.sleep(CLOSE_FLUSH_POLL_S)


async def close_quietly(ws: WebSocket, code: int, reason: str) -> bool:
    """Close unless the other side already went away; True if the connection was aborted.

    The close frame gets `CLOSE_TIMEOUT_S` to be sent and to leave the server's buffer. A
    client that stopped reading takes neither, so then (under uvicorn) the connection is
    aborted (`abort_connection`): gone now, instead of held with its unsent frames until
    the kernel gives up on the peer. A client that reads gets the close frame and the
    closing handshake as usual."""
    if (
        ws.application_state == WebSocketState.DISCONNECTED
        or ws.client_state == WebSocketState.DISCONNECTED
    ):
        return False
    transport = _transport(ws)
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT_S):
            try:
                await ws.close(code, reason)
            except (RuntimeError, WebSocketDisconnect):  # gone meanwhile
                return False
            if transport is not None:
                await _flushed(transport)
        return False
    except TimeoutError:
        aborted = abort_connection(ws)
        if aborted:
            log.info("aborted a websocket that took no close frame in %ss", CLOSE_TIMEOUT_S)
        return aborted
