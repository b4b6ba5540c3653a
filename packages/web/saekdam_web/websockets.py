"""Websocket edge: origin check, authentication (header or first frame), close codes."""

import asyncio
import contextlib
import logging

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from starlette.websockets import WebSocketState

from saekdam_backbone.users import User
from saekdam_contracts.sockets import MAX_AUTH_FRAME_BYTES, AuthFrame

from .auth import Authenticator
from .errors import Unauthorized

log = logging.getLogger(__name__)

NORMAL_CLOSURE = 1000
POLICY_VIOLATION = 1008
INTERNAL_ERROR = 1011
TRY_AGAIN_LATER = 1013
CLOSE_TIMEOUT_S = 2.0


class Closing(Exception):
    """Raised anywhere in a socket handler to close it with `code`."""

    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code, self.reason = code, reason


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
    if len(text.encode()) > MAX_AUTH_FRAME_BYTES:
        raise Closing(POLICY_VIOLATION, "authentication required")
    try:
        return AuthFrame.model_validate_json(text).token
    except ValidationError as exc:
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


async def close_quietly(ws: WebSocket, code: int, reason: str) -> None:
    """Close unless the other side already went away. A client that stopped reading cannot
    take the close frame either: after `CLOSE_TIMEOUT_S` the handler returns anyway and the
    server drops the connection, instead of holding it until the keepalive gives up."""
    if (
        ws.application_state != WebSocketState.DISCONNECTED
        and ws.client_state != WebSocketState.DISCONNECTED
    ):
        with contextlib.suppress(RuntimeError, WebSocketDisconnect, TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await ws.close(code, reason)
