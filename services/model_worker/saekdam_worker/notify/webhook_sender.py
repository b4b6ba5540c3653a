"""One attempt of one delivery: check the URL again, sign, POST to the checked address.

The host is resolved and checked right before connecting and the request goes to that
very address (the Host header and TLS name stay the URL's), so a name that now points
somewhere private is refused. No redirects are followed and no proxy from the
environment is used.
"""

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from standardwebhooks import Webhook

from saekdam_backbone.notifications.url_guard import Resolver, Target, checked_target

from .webhook_payloads import encode


@dataclass(frozen=True)
class Answer:
    """What an attempt came to: the receiver's status code, or None and the error."""

    status_code: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def new_client() -> httpx.AsyncClient:
    # No keep-alive: connections are made to checked addresses, each with its own TLS name.
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_keepalive_connections=0),
    )


def signed_headers(secret: str, message_id: str, body: str) -> dict[str, str]:
    sent_at = datetime.fromtimestamp(int(time.time()), UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, sent_at, body),
        "content-type": "application/json",
    }


def pinned_request(
    client: httpx.AsyncClient, target: Target, headers: dict[str, str], body: str, timeout_s: float
) -> httpx.Request:
    url = httpx.URL(target.url)
    default_port = 443 if target.scheme == "https" else 80
    host_header = url.host if target.port == default_port else f"{url.host}:{target.port}"
    if ":" in url.host and target.port != default_port:
        host_header = f"[{url.host}]:{target.port}"
    extensions = {"timeout": httpx.Timeout(timeout_s).as_dict()}
    if target.scheme == "https":
        extensions["sni_hostname"] = target.host
    return client.build_request(
        "POST",
        url.copy_with(host=target.address),
        headers={**headers, "host": host_header},
        content=body.encode(),
        extensions=extensions,
    )


async def attempt(
    client: httpx.AsyncClient,
    url: str,
    secret: str,
    message_id: str,
    payload: dict,
    *,
    timeout_s: float,
    allow_loopback: bool,
    resolver: Resolver | None = None,
) -> Answer:
    try:
        target = await checked_target(url, allow_loopback=allow_loopback, resolver=resolver)
    except ValueError as exc:
        return Answer(None, f"url_not_allowed: {exc}")
    body = encode(payload)
    request = pinned_request(
        client, target, signed_headers(secret, message_id, body), body, timeout_s
    )
    try:
        # The whole attempt is bounded (httpx's own timeouts are per read); the answer's
        # body is never read.
        async with asyncio.timeout(timeout_s):
            response = await client.send(request, stream=True)
            await response.aclose()
    except (TimeoutError, httpx.TimeoutException):
        return Answer(None, f"timeout: no answer within {timeout_s:g} s")
    except httpx.HTTPError as exc:
        return Answer(None, f"{type(exc).__name__}: {exc}"[:500])
    if 200 <= response.status_code < 300:
        return Answer(response.status_code)
    return Answer(response.status_code, f"answered {response.status_code}")
