"""One socket's live previews: its options, its watch entry in Redis, and the forwarding.

Off until the client sends `{"type": "options", "previews": {...}}`. While on, the socket
is recorded as a watcher (the worker makes previews only while someone is), and the newest
preview of its task is sent at most once per its `every_s`, after any state frame waiting
to go out. Previews that arrive faster replace each other in the watcher's one-frame slot.
The forwarding task starts with the first opt-in: most sockets never ask, and at thousands
of sockets an idle task each is memory for nothing.
"""

import asyncio
import contextlib
import json
import logging
import secrets
import time

from fastapi import WebSocket
from pydantic import ValidationError

from saekdam_backbone.previews import WATCH_TTL_S, PreviewBus
from saekdam_contracts.previews import OptionsFrame, PreviewOptions
from saekdam_web.websockets import send_text_within

from .hub import Watcher

log = logging.getLogger(__name__)

# A state frame waiting in the queue goes first; the preview checks again after this.
STATE_FIRST_POLL_S = 0.005


def error_frame(code: str, message: str) -> dict:
    return {"type": "error", "error": {"code": code, "message": message}}


class PreviewStream:
    def __init__(
        self,
        ws: WebSocket,
        task_id: str,
        watcher: Watcher,
        bus: PreviewBus,
        send_timeout_s: float,
    ):
        self.ws, self.task_id, self.watcher, self.bus = ws, task_id, watcher, bus
        self.send_timeout_s = send_timeout_s
        self.watcher_id = secrets.token_hex(8)
        self.options: PreviewOptions | None = None
        self.sent = 0
        self._refresher: asyncio.Task | None = None
        self._forwarder: asyncio.Task | None = None
        self._last_sent_at = -float("inf")

    async def answer(self, parsed: dict) -> None:
        """Apply an options frame and reply: the acknowledgement, then (when turning on)
        the task's latest preview, so a client that opts in mid-job sees the wall at once.
        A reply not taken within the send timeout drops the client (Closing)."""
        try:
            options = OptionsFrame.model_validate(parsed).previews
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "frame"
            error = error_frame("invalid_options", f"{where}: {first['msg']}")
            await send_text_within(self.ws, json.dumps(error), self.send_timeout_s)
            return
        await self._apply(options)
        ack = {"type": "options", "previews": options.model_dump() if options else None}
        await send_text_within(self.ws, json.dumps(ack), self.send_timeout_s)
        if options is not None:
            with contextlib.suppress(Exception):
                latest = await self.bus.latest(self.task_id)
                if latest is not None and self.watcher.preview is None:
                    self.watcher.offer_preview(latest)

    async def _apply(self, options: PreviewOptions | None) -> None:
        self.options = options
        self.watcher.wants_previews = options is not None
        if options is None:
            self.watcher.preview = None
            await self.close()
            return
        await self._register()
        if self._refresher is None:
            self._refresher = asyncio.create_task(self._refresh(), name="preview-watch")
        if self._forwarder is None:
            self._forwarder = asyncio.create_task(self.forward(), name="preview-forward")

    async def _register(self) -> None:
        try:
            await self.bus.watch(self.task_id, self.watcher_id, self.options)
        except Exception:  # noqa: BLE001 - previews are best effort; the refresh retries
            log.warning("preview watch not recorded", exc_info=True)

    async def _refresh(self) -> None:
        while self.options is not None:
            await asyncio.sleep(WATCH_TTL_S / 3)
            if self.options is not None:
                await self._register()

    async def forward(self) -> None:
        """Runs from the first opt-in for the socket's life: the newest preview, no faster
        than asked, after any state frame that is waiting."""
        watcher = self.watcher
        while True:
            await watcher.preview_ready.wait()
            watcher.preview_ready.clear()
            if self.options is None:
                continue
            wait = self._last_sent_at + self.options.every_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            while not watcher.queue.empty():  # noqa: ASYNC110 - a queue has no "drained" event
                await asyncio.sleep(STATE_FIRST_POLL_S)
            frame, watcher.preview = watcher.preview, None
            watcher.preview_ready.clear()
            if frame is None or self.options is None:
                continue
            self._last_sent_at = time.monotonic()
            try:
                async with asyncio.timeout(self.send_timeout_s):
                    await self.ws.send_text(frame.model_dump_json())
            except TimeoutError:
                continue  # a client this slow has state frames to worry about first
            except Exception:  # noqa: BLE001 - the socket is gone; its reader ends it
                return
            self.sent += 1

    async def close(self) -> None:
        """Stop watching: the worker stops making previews once nobody is left."""
        for task in (self._refresher, self._forwarder):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._refresher = self._forwarder = None
        with contextlib.suppress(Exception):
            await self.bus.unwatch(self.task_id, self.watcher_id)
