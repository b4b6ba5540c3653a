"""Carries progress from the job thread to fenced task writes on the event loop.

The job thread never waits on the database: it drops its newest update here and goes on.
Updates that arrive while a write is in flight are coalesced to the newest one.
"""

import asyncio
from collections.abc import Awaitable, Callable

from .context import ProgressUpdate


class ProgressRelay:
    def __init__(self, write: Callable[[ProgressUpdate], Awaitable[None]]):
        self._write = write
        self._loop = asyncio.get_running_loop()
        self._latest: ProgressUpdate | None = None
        self._wake = asyncio.Event()
        self._closing = False
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
                update, self._latest = self._latest, None
                await self._write(update)
            if self._closing:
                return

    async def close(self) -> None:
        """Write what is still pending, then stop. Call after the job thread has returned."""
        self._closing = True
        self._wake.set()
        await self._task
