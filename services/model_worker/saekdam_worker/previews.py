"""Carries live previews from the job thread to Redis, only while someone watches.

The job thread asks `wanted()` at every denoising step: a cached answer, refreshed from the
API's watch entries on the event loop at most once a `CHECK_EVERY_S`, never waited for (the
first ask starts the first read, so jobs that never denoise never touch Redis for this). A
preview is due when someone watches and the last one is at least the watchers' smallest
interval old (never under MIN_PREVIEW_EVERY_S). `show()` encodes in the job thread and
hands the frame to the loop, where publishes are coalesced to the newest: previews never
queue behind each other, and progress (written by its own relay) never waits for them.
"""

import asyncio
import base64
import contextlib
import logging
import threading
import time
from collections.abc import Callable

import numpy as np

from saekdam_backbone.previews import PreviewBus, PreviewDemand
from saekdam_contracts.previews import MAX_PREVIEW_BYTES, MIN_PREVIEW_EVERY_S, PreviewFrame

from .pipelines.previews import CONTENT_TYPE, encode_preview

log = logging.getLogger(__name__)

CHECK_EVERY_S = 1.0
# The loop holds tasks only weakly: clean-ups that outlive their job are kept here.
_CLEANUPS: set[asyncio.Task] = set()


class PreviewTap:
    def __init__(
        self,
        task_id: str,
        bus: PreviewBus,
        stopped: threading.Event,
        clock: Callable[[], float] = time.monotonic,
        check_every_s: float = CHECK_EVERY_S,
    ):
        self.task_id = task_id
        self._bus = bus
        self._stopped = stopped
        self._clock = clock
        self._check_every_s = check_every_s
        self._loop = asyncio.get_running_loop()
        self._demand: PreviewDemand | None = None
        self._checked_at = -float("inf")
        self._checking = False
        self._last_at = -float("inf")
        self._pending: PreviewFrame | None = None
        self._sender: asyncio.Task | None = None
        self._checker: asyncio.Task | None = None
        self.sent = 0

    # -- the job thread ------------------------------------------------------------------

    def wanted(self) -> int | None:
        """The long side of a preview due now, or None (nobody watches, or too soon)."""
        now = self._clock()
        if now - self._checked_at >= self._check_every_s and not self._checking:
            self._checking = True
            self._loop.call_soon_threadsafe(self._check)
        demand = self._demand
        if demand is None or self._stopped.is_set():
            return None
        if now - self._last_at < max(demand.every_s, MIN_PREVIEW_EVERY_S):
            return None
        self._last_at = now
        return demand.max_side

    def show(self, step: int, total: int, image: np.ndarray) -> None:
        try:
            data, width, height = encode_preview(image, MAX_PREVIEW_BYTES)
        except ValueError:
            log.warning("preview not encoded", exc_info=True)
            return
        frame = PreviewFrame(
            task_id=self.task_id,
            step=step,
            total_steps=total,
            width=width,
            height=height,
            image=f"data:{CONTENT_TYPE};base64,{base64.b64encode(data).decode('ascii')}",
        )
        self._loop.call_soon_threadsafe(self._offer, frame)

    # -- the event loop ------------------------------------------------------------------

    def _check(self) -> None:
        self._checking = True
        self._checker = asyncio.create_task(self._read_demand(), name="preview-demand")

    async def _read_demand(self) -> None:
        try:
            self._demand = await self._bus.demand(self.task_id)
        except Exception:  # noqa: BLE001 - previews are best effort; ask again later
            log.debug("preview demand not read", exc_info=True)
        finally:
            self._checked_at, self._checking = self._clock(), False

    def _offer(self, frame: PreviewFrame) -> None:
        self._pending = frame
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send(), name="preview-send")

    async def _send(self) -> None:
        while self._pending is not None and not self._stopped.is_set():
            frame, self._pending = self._pending, None
            try:
                await self._bus.publish(frame)
                self.sent += 1
            except Exception:  # noqa: BLE001 - a lost preview is replaced by the next
                log.debug("preview not published", exc_info=True)

    def close(self) -> None:
        """After the job thread returned, on the loop, without waiting: drop what is not sent
        yet and, once the publish in flight is done, forget the task's latest preview (no
        news once the job is over)."""
        self._pending = None
        if self._sender is not None or self.sent:
            cleanup = asyncio.create_task(self._forget(), name="preview-forget")
            _CLEANUPS.add(cleanup)
            cleanup.add_done_callback(_CLEANUPS.discard)

    async def _forget(self) -> None:
        if self._sender is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._sender, 2.0)
        with contextlib.suppress(Exception):
            await self._bus.forget(self.task_id)
