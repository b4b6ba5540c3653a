"""One Web Push request through `pywebpush`: encrypted for the browser (RFC 8291,
aes128gcm) and signed with the server's VAPID key (RFC 8292).

`pywebpush` blocks (requests), so each send runs in a thread, under a timeout.
"""

import asyncio
import logging
from dataclasses import dataclass
from enum import StrEnum

import requests
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from saekdam_backbone.notifications import vapid

log = logging.getLogger(__name__)

MAX_REASON_CHARS = 200


class Verdict(StrEnum):
    DELIVERED = "delivered"
    # 404/410: the browser unsubscribed or the subscription expired; never use it again.
    GONE = "gone"
    # 429, 5xx, no answer: worth another try.
    BUSY = "busy"
    # Any other refusal (400, 403 for a VAPID key the browser did not subscribe with, 413):
    # trying again would not help.
    REFUSED = "refused"


@dataclass(frozen=True)
class PushResult:
    verdict: Verdict
    status_code: int | None = None
    reason: str | None = None
    retry_after_s: float | None = None


@dataclass(frozen=True)
class Destination:
    endpoint: str
    p256dh: str
    auth: str


def verdict_for(status_code: int | None) -> Verdict:
    if status_code is None or status_code == 429 or status_code >= 500:
        return Verdict.BUSY
    if status_code in (404, 410):
        return Verdict.GONE
    return Verdict.DELIVERED if status_code < 300 else Verdict.REFUSED


def _retry_after(response) -> float | None:
    text = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(text) if text else None
    except ValueError:  # an HTTP date: the backoff schedule decides instead
        return None


class PushSender:
    def __init__(self, private_key: str, subject: str, *, timeout_s: float, ttl_s: int):
        """`private_key`: VAPID_PRIVATE_KEY (base64url raw or PEM). ValueError if malformed."""
        self._vapid = Vapid(vapid.load_private_key(private_key))
        self._subject = subject
        self._timeout_s = timeout_s
        self._ttl_s = ttl_s

    async def send(self, destination: Destination, payload: bytes) -> PushResult:
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(self._send_blocking, destination, payload),
                # requests' timeout covers connect and each read; this caps the whole send.
                timeout=self._timeout_s * 2,
            )
        except TimeoutError:
            return PushResult(Verdict.BUSY, reason="no answer in time")

    def _send_blocking(self, destination: Destination, payload: bytes) -> PushResult:
        subscription = {
            "endpoint": destination.endpoint,
            "keys": {"p256dh": destination.p256dh, "auth": destination.auth},
        }
        try:
            response = webpush(
                subscription,
                data=payload,
                vapid_private_key=self._vapid,
                # pywebpush fills in `aud` and `exp` in place: a fresh dict every time.
                vapid_claims={"sub": self._subject},
                content_encoding="aes128gcm",
                ttl=self._ttl_s,
                headers={"Urgency": "normal"},
                timeout=self._timeout_s,
            )
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else None
            return PushResult(
                verdict_for(status), status, str(exc)[:MAX_REASON_CHARS], _retry_after(exc.response)
            )
        except requests.RequestException as exc:
            return PushResult(Verdict.BUSY, None, f"{type(exc).__name__}: {exc}"[:MAX_REASON_CHARS])
        return PushResult(verdict_for(response.status_code), response.status_code)
