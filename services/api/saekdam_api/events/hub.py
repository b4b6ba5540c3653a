"""One pub/sub subscription per API process, fanned out in process to task watchers.

Watchers get a bounded queue each: a client that stops reading overflows its own queue and
is dropped, never slowing the others. When the subscription breaks, messages may have been
lost, so every watcher is told to resync its task from the database.

Live previews come on their own channel and go only to watchers that opted in, through a
slot holding just the newest one: a slow client misses previews, never state frames.

Every watcher of a task gets the same event object, so its wire text is built once per event
(`EventHub.encoded`), not once per socket: with thousands of sockets on a few tasks the
encoding would otherwise cost more than the sending.

Time-outs are one watchdog per process, not a timer per socket: every `TICK_S` it wakes the
watchers whose quiet or queue-refresh deadline passed (`due_at`), and cancels the sender of
a watcher whose send has been stuck past its `send_deadline` (`stalled`: the socket is then
closed 1013). Arming and cancelling a timer per frame per socket cost more than the send.
"""

import asyncio
import contextlib
import logging
import math
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from saekdam_contracts.events import TaskEvent
from saekdam_contracts.previews import PreviewFrame
from saekdam_contracts.redis_keys import PREVIEW_CHANNEL, TASK_EVENTS_CHANNEL

log = logging.getLogger(__name__)

# Encoded frames kept: far more events than arrive while their watchers are still sending.
ENCODED_KEPT = 1024
# The watchdog's period: how late a quiet resync, a queue refresh or a send time-out may be.
TICK_S = 0.25
# Put in a watcher's queue to wake its follower; not an event.
WAKE = object()


class Watcher:
    def __init__(self, task_id: str, maxsize: int):
        self.task_id = task_id
        self.queue: asyncio.Queue[TaskEvent | object] = asyncio.Queue(maxsize)
        self.overflowed = asyncio.Event()
        self.resync = asyncio.Event()
        self.wants_previews = False
        self.preview: PreviewFrame | None = None
        self.preview_ready = asyncio.Event()
        # Set by the socket's follower (loop.time()), read by the watchdog.
        self.due_at = math.inf
        self.due = False
        self.send_deadline = math.inf
        self.sender: asyncio.Task | None = None
        self.stalled = False

    def offer(self, event: TaskEvent) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed.set()

    def wake(self) -> None:
        """Make the follower look at its flags; a queue with frames in it wakes it anyway."""
        if self.queue.empty():
            self.queue.put_nowait(WAKE)

    def check(self, now: float) -> None:
        if now > self.send_deadline and self.sender is not None and not self.stalled:
            self.stalled = True
            self.sender.cancel()
        elif now >= self.due_at:
            self.due_at, self.due = math.inf, True
            self.wake()

    def offer_preview(self, frame: PreviewFrame) -> None:
        """Replaces any preview not sent yet: only the newest is worth sending."""
        if self.wants_previews:
            self.preview = frame
            self.preview_ready.set()


class EventHub:
    def __init__(
        self,
        redis: Redis,
        channel: str = TASK_EVENTS_CHANNEL,
        preview_channel: str = PREVIEW_CHANNEL,
    ):
        self._redis = redis
        self._channel = channel
        self._preview_channel = preview_channel
        self._watchers: dict[str, set[Watcher]] = defaultdict(set)
        self._task: asyncio.Task | None = None
        self._watchdog: asyncio.Task | None = None
        self.subscribed = asyncio.Event()
        # id(event) -> (event, text); the event is kept so its id is not reused meanwhile.
        self._encoded: OrderedDict[int, tuple[TaskEvent, str]] = OrderedDict()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="event-hub")
        self._watchdog = asyncio.create_task(self._watch_deadlines(), name="event-hub-watchdog")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.subscribed.wait(), timeout=5)

    async def stop(self) -> None:
        for task in (self._task, self._watchdog):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    @contextlib.contextmanager
    def watch(self, task_id: str, maxsize: int):
        watcher = Watcher(task_id, maxsize)
        self._watchers[task_id].add(watcher)
        try:
            yield watcher
        finally:
            watchers = self._watchers.get(task_id)
            if watchers is not None:
                watchers.discard(watcher)
                if not watchers:
                    del self._watchers[task_id]

    @property
    def watcher_count(self) -> int:
        return sum(len(w) for w in self._watchers.values())

    async def encoded(self, event: TaskEvent, encode: Callable[[TaskEvent], Awaitable[str]]) -> str:
        """The wire text of a dispatched `event`, encoded by the first of its watchers to
        send it and reused by the others."""
        kept = self._encoded.get(id(event))
        if kept is not None and kept[0] is event:
            return kept[1]
        text = await encode(event)
        self._encoded[id(event)] = (event, text)
        if len(self._encoded) > ENCODED_KEPT:
            self._encoded.popitem(last=False)
        return text

    def dispatch(self, event: TaskEvent) -> None:
        for watcher in tuple(self._watchers.get(event.task_id, ())):
            watcher.offer(event)

    def dispatch_preview(self, frame: PreviewFrame) -> None:
        for watcher in tuple(self._watchers.get(frame.task_id, ())):
            watcher.offer_preview(frame)

    async def _listen(self) -> None:
        backoff = 0.1
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel, self._preview_channel)
                    self._resync_all()
                    self.subscribed.set()
                    backoff = 0.1
                    async for message in pubsub.listen():
                        self._handle(message)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                self.subscribed.clear()
                log.warning("event subscription lost, retrying: %s", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _handle(self, message: dict) -> None:
        if message.get("type") != "message":
            return
        channel = message.get("channel")
        if isinstance(channel, bytes):
            channel = channel.decode()
        if channel == self._preview_channel:
            self._handle_preview(message["data"])
            return
        try:
            event = TaskEvent.model_validate_json(message["data"])
        except ValidationError:
            log.warning("dropping malformed task event: %r", message["data"][:200])
            return
        self.dispatch(event)

    def _handle_preview(self, data: bytes) -> None:
        try:
            frame = PreviewFrame.model_validate_json(data)
        except ValidationError:
            log.warning("dropping malformed preview: %r", data[:200])
            return
        self.dispatch_preview(frame)

    def _resync_all(self) -> None:
        for watchers in self._watchers.values():
            for watcher in watchers:
                watcher.resync.set()
                watcher.wake()

    async def _watch_deadlines(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(TICK_S)
            now = loop.time()
            for watchers in tuple(self._watchers.values()):
                for watcher in tuple(watchers):
                    watcher.check(now)
