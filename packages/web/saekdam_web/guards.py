"""What every request must pass before any route sees it: a bounded body, a clean path.

One ASGI middleware both services install (`install_request_guards`), outside the routes,
the auth and the database:

- Request bodies are capped (MAX_REQUEST_BYTES, 1 MiB: JSON bodies are small, images go to
  storage with presigned URLs). A Content-Length over the cap is refused before a byte of the
  body is read; a body without one (chunked) is counted as it arrives and cut off at the cap,
  so at most the cap plus one chunk is ever held. Both are 413 `request_too_large`, and the
  connection is closed rather than drained. A route that takes more (the local storage
  backend's upload form) gets its own cap by path.
- A path or query with control characters (U+0000-U+001F, U+007F, sent percent-encoded; raw
  ones never get past the HTTP parser, see `serving`) is 400 `invalid_path`: no id, key or
  cursor has them, and PostgreSQL refuses a NUL in text with an error of its own.
"""

from collections.abc import Mapping
from urllib.parse import unquote_to_bytes

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import RequestTooLarge, error_response

DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024

_CONTROL_BYTES = bytes([*range(0x20), 0x7F])
_CONTROL_CHARS = frozenset(chr(b) for b in _CONTROL_BYTES)


def has_control_characters(scope: Scope) -> bool:
    """True when the decoded path or query string holds a control character."""
    if not _CONTROL_CHARS.isdisjoint(scope.get("path", "")):
        return True
    query: bytes = scope.get("query_string", b"")
    return any(b in _CONTROL_BYTES for b in unquote_to_bytes(query)) if query else False


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP parser refuses these; counting still applies
    return None


def too_large_message(limit: int) -> str:
    return f"the request body is larger than the {limit} bytes this endpoint takes"


class RequestGuards:
    """See the module docstring. `body_limits` maps exact paths to caps of their own."""

    def __init__(
        self, app: ASGIApp, max_body_bytes: int, body_limits: Mapping[str, int] | None = None
    ):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_limits = dict(body_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if has_control_characters(scope):
            if kind == "websocket":
                # Before the handshake: uvicorn answers it with a 403.
                await send({"type": "websocket.close", "code": 1008})
            else:
                response = error_response(
                    400, "invalid_path", "the path or query contains control characters"
                )
                await response(scope, receive, send)
            return
        if kind == "websocket":  # frames are bounded by the server's ws_max_size
            await self.app(scope, receive, send)
            return

        limit = self.body_limits.get(scope["path"], self.max_body_bytes)
        length = _content_length(scope)
        if length is not None and length > limit:
            await self._refuse(limit, scope, receive, send)
            return

        received = 0
        response_started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise RequestTooLarge(limit, too_large_message(limit))
            return message

        async def watched_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except RequestTooLarge as exc:
            # Usually the app's own error handler answers it (same shape); this is for a
            # body read outside of it.
            if response_started:
                raise
            await self._refuse(exc.limit, scope, receive, send)

    @staticmethod
    async def _refuse(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413, RequestTooLarge.code, too_large_message(limit), {"Connection": "close"}
        )
        await response(scope, receive, send)


def install_request_guards(
    app: FastAPI, max_body_bytes: int, body_limits: Mapping[str, int] | None = None
) -> None:
    """Add the guards to `app`. Call it before other middleware (CORS) so that those wrap it
    and its refusals still carry their headers."""
    app.add_middleware(RequestGuards, max_body_bytes=max_body_bytes, body_limits=body_limits)
