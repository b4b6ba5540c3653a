"""How both services run under uvicorn: whom they trust for forwarding headers, and the
error shape of requests that never reach the app.

A request the HTTP parser refuses (a control character in the request line or a header, a
method it does not know, bytes that are not HTTP) is answered by uvicorn itself, in plain
text. `JsonErrorsHttpToolsProtocol` answers those in the services' own shape: 405
`method_not_allowed` for an unknown method, 400 `malformed_request` for the rest; the
connection is closed after it, as uvicorn does.
"""

import json
import os
import sys

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

# The methods the services' routes and CORS preflights use (the proxy refuses the others).
KNOWN_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"


def _raw_error(status: int, code: str, message: str, headers: list[tuple[bytes, bytes]]) -> bytes:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    status_line = STATUS_LINE.get(status) or f"HTTP/1.1 {status}\r\n".encode()
    lines = [status_line]
    for name, value in headers:
        lines += [name, b": ", value, b"\r\n"]
    lines += [
        b"content-type: application/json\r\n",
        b"content-length: " + str(len(body)).encode() + b"\r\n",
        b"connection: close\r\n\r\n",
        body,
    ]
    return b"".join(lines)


class JsonErrorsHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with the parser's refusals in the JSON error shape."""

    def send_400_response(self, msg: str) -> None:
        # Called by data_received inside its `except httptools.HttpParserError`.
        error = sys.exc_info()[1]
        headers = list(self.server_state.default_headers)
        if isinstance(error, httptools.HttpParserInvalidMethodError):
            headers.append((b"allow", KNOWN_METHODS.encode()))
            response = _raw_error(
                405, "method_not_allowed", "this method is not supported", headers
            )
        else:
            response = _raw_error(
                400, "malformed_request", "the request is not valid HTTP", headers
            )
        self.transport.write(response)
        self.transport.close()


def forwarding_options() -> dict:
    """uvicorn's proxy-header options: X-Forwarded-For/-Proto are believed only from the
    addresses in FORWARDED_ALLOW_IPS (the proxy's: compose and k8s set it, `make run` sets
    the address its Caddy connects from). Unset, nobody is believed, not even loopback: a
    client on this machine calling the service's own port could otherwise claim any
    address and so any rate-limit count."""
    trusted = os.environ.get("FORWARDED_ALLOW_IPS", "").strip()
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": trusted or None}
