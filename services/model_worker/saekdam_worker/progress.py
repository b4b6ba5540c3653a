"""Carries progress from the job thread to fenced task writes on the event loop.

The job thread never waits on the database: it drops its newest update here and goes on.
Updates that arrive while a write is in flight, or sooner than `min_interval_s` after the
last write, are coalesced to the newest one. The first write also waits that long, so a job
shorter than the interval writes no progress at all: its result comes first.
"""

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from .context import ProgressUpdate


class ProgressRelay:
    def __init__(
        self,
        write: Callable[[ProgressUpdate], Awaitable[None]],
        min_interval_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._write = write
        self._min_interval_s = min_interval_s
        self._clock = clock
        self._next_write_at = clock() + min_interval_s
        self._loop = asyncio.get_running_loop()
        self._latest: ProgressUpdate | None = None
        self._wake = asyncio.Event()
        self._closing = asyncio.Event()
        self._task = asyncio.create_task(self._drain(), name="progress-relay")

    def submit(self, update: ProgressUpdate) -> None:
        """Called from the job thread."""
        self._loop.call_soon_threadsafe(self._offer, update)

    def _offer(self, update: ProgressUpdate) -> None:
        self._latest = update
        self._wake.set()

    async def _drain(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._latest is not None:
                delay = self._next_write_at - self._clock()
                if delay > 0 and not self._closing.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._closing.wait(), delay)
                    continue
                update, self._latest = self._latest, None
                await self._write(update)
                self._next_write_at = self._clock() + self._min_interval_s
            if self._closing.is_set():
                return

    async def close(self) -> None:
        """Write what is still pending, then stop. Call after the job thread has returned."""
        self._closing.set()
        self._wake.set()
        await self._task
