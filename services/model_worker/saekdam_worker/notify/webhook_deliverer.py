"""Sends due webhook deliveries, each attempt as its own asyncio task.

At most `concurrency` attempts are in flight per worker and `per_endpoint_concurrency` per
endpoint, so a receiver that hangs for its whole timeout holds a few slots and everyone
else's deliveries go on. Outcomes: 2xx delivered; 410 disables the endpoint; anything else
(another status, a refused URL, a network error, a timeout) is retried after the next wait
of the schedule, stretched by jitter, and given up after the last.
"""

import asyncio
import contextlib
import logging
import random
from collections import Counter

import httpx

from saekdam_backbone.notifications.url_guard import Resolver

from .webhook_sender import Answer, attempt, new_client
from .webhook_settings import WebhookSettings
from .webhook_store import Claimed, WebhookStore

log = logging.getLogger(__name__)


class WebhookDeliverer:
    def __init__(
        self,
        store: WebhookStore,
        settings: WebhookSettings,
        *,
        allow_loopback: bool,
        resolver: Resolver | None = None,
    ):
        """`resolver` replaces DNS (tests)."""
        self._store = store
        self._settings = settings
        self._allow_loopback = allow_loopback
        self.resolver = resolver
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task] = set()
        self._per_endpoint: Counter[str] = Counter()

    def wake(self) -> None:
        """New deliveries were queued: look now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        async with new_client() as client:
            try:
                while True:
                    try:
                        await self._dispatch(client)
                    except Exception:  # noqa: BLE001 - database blip: back off, go on
                        log.exception("webhook deliverer error; retrying")
                        await asyncio.sleep(1.0)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self._settings.poll_s):
                            await self._wake.wait()
                    self._wake.clear()
            finally:
                # Attempts cut off here are retried by whoever claims them after the lease.
                for task in list(self._in_flight):
                    task.cancel()
                await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _dispatch(self, client: httpx.AsyncClient) -> None:
        settings = self._settings
        free = settings.concurrency - len(self._in_flight)
        if free <= 0:
            return
        busy = {e for e, n in self._per_endpoint.items() if n > 0}
        claimed = await self._store.claim_due(
            free, settings.lease_s, settings.per_endpoint_concurrency, busy
        )
        for delivery in claimed:
            self._per_endpoint[delivery.endpoint_id] += 1
            task = asyncio.create_task(self._deliver(client, delivery), name=delivery.id)
            self._in_flight.add(task)
            task.add_done_callback(lambda t, d=delivery: self._done(t, d))

    def _done(self, task: asyncio.Task, delivery: Claimed) -> None:
        self._in_flight.discard(task)
        self._per_endpoint[delivery.endpoint_id] -= 1
        if self._per_endpoint[delivery.endpoint_id] <= 0:
            del self._per_endpoint[delivery.endpoint_id]
        self._wake.set()  # a slot is free

    async def _deliver(self, client: httpx.AsyncClient, delivery: Claimed) -> None:
        try:
            answer = await attempt(
                client,
                delivery.url,
                delivery.secret,
                delivery.id,
                delivery.payload,
                timeout_s=self._settings.timeout_s,
                allow_loopback=self._allow_loopback,
                resolver=self.resolver,
            )
            await self._record(delivery, answer)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the lease lapses and the delivery is tried again
            log.exception("webhook delivery could not be recorded", extra={"outcome": delivery.id})

    async def _record(self, delivery: Claimed, answer: Answer) -> None:
        extra = {"outcome": f"{delivery.id} {answer.status_code or answer.error}"}
        if answer.ok:
            await self._store.delivered(delivery, answer.status_code)
            log.info("webhook delivered", extra=extra)
        elif answer.status_code == 410:
            await self._store.gone(delivery, 410, "the receiver answered 410 Gone")
            log.info("webhook endpoint disabled (410)", extra=extra)
        else:
            retry_in = self.retry_in(delivery.attempts)
            await self._store.failed(
                delivery, answer.status_code, answer.error or "failed", retry_in
            )
            log.info("webhook attempt failed", extra=extra)

    def retry_in(self, attempts: int) -> float | None:
        """The wait after the `attempts`-th failed attempt, or None to give up."""
        schedule = self._settings.retry_schedule_s
        if attempts > len(schedule):
            return None
        return schedule[attempts - 1] * (1 + random.uniform(0, self._settings.jitter))
