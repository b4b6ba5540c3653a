"""Step 5: the task websocket. Snapshot first, then changes with a higher seq.

One socket costs one task of its own (the follower, sending) besides the one reading client
frames, and no timer: its quiet resync, queue refresh and send time-out are deadlines the
hub's watchdog checks (`events/hub.py`). At thousands of sockets the per-socket tasks are
most of the memory, and a timer (or a `wait_for` task) per frame most of the CPU.
"""

import asyncio
import contextlib
import json
import logging
import math

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from saekdam_backbone.previews import PreviewBus
from saekdam_backbone.tasks.models import Task
from saekdam_backbone.tasks.store import TaskStore, task_event
from saekdam_contracts.events import TaskEvent
from saekdam_contracts.status import TERMINAL_STATUSES, TaskStatus
from saekdam_web.messages import InvalidMessage, parse_json_message
from saekdam_web.websockets import (
    NORMAL_CLOSURE,
    POLICY_VIOLATION,
    TRY_AGAIN_LATER,
    Closing,
    accept_if_origin_allowed,
    authenticate,
    close_quietly,
    send_text_within,
)

from ..domain.queue import QueueService, QueueSpot
from ..domain.tasks import TaskService
from ..events.hub import WAKE, EventHub, Watcher
from ..events.previews import PreviewStream
from ..metrics import WEBSOCKETS, WEBSOCKETS_DROPPED
from ..settings import ApiSettings

router = APIRouter(tags=["tasks"])
log = logging.getLogger(__name__)

# After auth clients send pings and options frames, tens of bytes: more is refused unparsed.
MAX_CLIENT_FRAME_BYTES = 8 * 1024


class TaskStream:
    """One client's view of one task: the sequencing and resync rules live here."""

    def __init__(
        self,
        ws: WebSocket,
        task_id: str,
        store: TaskStore,
        tasks: TaskService,
        settings: ApiSettings,
        queue: QueueService,
        hub: EventHub,
        watcher: Watcher,
    ):
        self.ws, self.task_id, self.store, self.tasks = ws, task_id, store, tasks
        self.settings, self.queue, self.hub, self.watcher = settings, queue, hub, watcher
        self.last_seq = -1
        self.last_status = None
        self.kind: str | None = None
        self.last_spot: QueueSpot | None = None

    async def send(self, event: TaskEvent, *, dispatched: bool = False) -> bool:
        """Send if newer than what the client has; True once the task is final.
        `dispatched`: the hub's event, one object for all watchers, so encoded once."""
        if event.seq > self.last_seq:
            if self.last_seq >= 0 and event.type == "snapshot":
                kind = "status" if event.status != self.last_status else "progress"
                event = event.model_copy(update={"type": kind})
            if event.status == TaskStatus.QUEUED:  # the place in the queue is this socket's
                frame = await self.tasks.public_frame(event) | await self._queue_fields()
                text = json.dumps(frame)
            elif dispatched:
                text = await self.hub.encoded(event, self._encode)
            else:
                text = await self._encode(event)
            await self._send_text(text)
            self.last_seq, self.last_status = event.seq, event.status
        return self.last_status in TERMINAL_STATUSES

    async def _encode(self, event: TaskEvent) -> str:
        return json.dumps(await self.tasks.public_frame(event))

    async def snapshot(self, task: Task | None = None) -> bool:
        """The row as it is now (`task` if just read), sent if the client lacks it."""
        task = task or await self.store.get(self.task_id)
        self.kind = task.kind
        return await self.send(task_event(task, "snapshot"))

    async def send_queue_update(self) -> None:
        """A QUEUED task's new place and ETA, when they changed: no seq, the task itself
        did not change (clients of v1 ignore the frame type)."""
        before = self.last_spot
        fields = await self._queue_fields()
        if fields and self.last_spot != before:
            await self._send_text(json.dumps({"type": "queue", "task_id": self.task_id, **fields}))

    async def _queue_fields(self) -> dict:
        self.last_spot = await self.queue.spot(self.task_id, self.kind)
        if self.last_spot is None:
            return {}
        return {"queue_position": self.last_spot.queue_position, "eta_s": self.last_spot.eta_s}

    async def _send_text(self, text: str) -> None:
        """A send waits only while this socket's own write buffer is full; past
        `ws_send_timeout_s` the watchdog cancels it and the socket is closed 1013."""
        watcher = self.watcher
        watcher.sender = asyncio.current_task()
        watcher.send_deadline = asyncio.get_running_loop().time() + self.settings.ws_send_timeout_s
        try:
            await self.ws.send_text(text)
        except asyncio.CancelledError:
            if watcher.stalled:
                watcher.sender.uncancel()
                raise Closing(TRY_AGAIN_LATER, "client is not reading", dropped=True) from None
            raise
        finally:
            watcher.send_deadline = math.inf

    async def follow(self) -> None:
        """After the first snapshot: changes as they come, resyncing from the row if quiet;
        while QUEUED, the place in the queue about once every `queue_refresh_s`."""
        watcher, settings = self.watcher, self.settings
        loop = asyncio.get_running_loop()
        quiet_since = loop.time()
        while True:
            if watcher.overflowed.is_set():
                raise Closing(
                    TRY_AGAIN_LATER, "client fell behind; reconnect for a snapshot", dropped=True
                )
            if watcher.resync.is_set():
                watcher.resync.clear()
                if await self.snapshot():
                    return
            if watcher.due:
                watcher.due = False
                if loop.time() - quiet_since >= settings.ws_resync_s:
                    # Quiet for a while: a publish may have been lost, so check the row itself.
                    quiet_since = loop.time()
                    if await self.snapshot():
                        return
                elif self.last_status == TaskStatus.QUEUED:
                    await self.send_queue_update()
            due_at = quiet_since + settings.ws_resync_s
            if self.last_status == TaskStatus.QUEUED:
                due_at = min(due_at, loop.time() + settings.queue_refresh_s)
            watcher.due_at = due_at
            event = await watcher.queue.get()
            if event is WAKE:
                continue
            quiet_since = loop.time()
            if await self.send(event, dispatched=True):
                return


async def _answer_client_frames(
    ws: WebSocket, previews: PreviewStream, send_timeout_s: float
) -> None:
    """After auth the client may only set options; reply to pings and name mistakes. A frame
    too large or nested too deeply gets an error frame unparsed; not JSON, it is unknown. A
    reply the client does not take in time drops it, as a state frame does (replies are
    rare: a timer each costs nothing)."""
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        try:
            parsed = None if text is None else parse_json_message(text, MAX_CLIENT_FRAME_BYTES)
        except InvalidMessage as invalid:
            if invalid.code != "invalid_json":
                await send_text_within(ws, json.dumps(invalid.frame()), send_timeout_s)
                continue
            parsed = None
        kind = parsed.get("type") if isinstance(parsed, dict) else None
        if kind == "options":
            await previews.answer(parsed)
            continue
        if kind == "ping":
            reply = {"type": "pong"}
        else:
            reply = {
                "type": "error",
                "error": {
                    "code": "unknown_message",
                    "message": 'this socket only accepts {"type": "ping"} and '
                    '{"type": "options", "previews": ...} text frames after auth',
                },
            }
        await send_text_within(ws, json.dumps(reply), send_timeout_s)


@router.websocket("/v1/tasks/{task_id}/events")
async def task_events(ws: WebSocket, task_id: str) -> None:
    state = ws.app.state
    settings: ApiSettings = state.settings
    if not await accept_if_origin_allowed(ws, settings.allowed_origins):
        return
    WEBSOCKETS.inc()
    background: list[asyncio.Task] = []
    try:
        user = await authenticate(ws, state.authenticator, settings.ws_auth_timeout_s)
        store: TaskStore = state.store
        hub: EventHub = state.hub
        with hub.watch(task_id, settings.ws_queue_size) as watcher:
            # Watching first, then one read serves both the owner check and the snapshot:
            # nothing published in between is missed, nothing is sent to a stranger.
            task = await store.get(task_id)
            if task is None or task.owner_id != user.id:
                raise Closing(POLICY_VIOLATION, "task not found")
            stream = TaskStream(
                ws, task_id, store, state.tasks, settings, state.queue_status, hub, watcher
            )
            # The snapshot goes out before anything else, a pong included.
            previews = PreviewStream(
                ws, task_id, watcher, PreviewBus(state.redis), settings.ws_send_timeout_s
            )
            if not await stream.snapshot(task):
                reader = asyncio.create_task(
                    _answer_client_frames(ws, previews, settings.ws_send_timeout_s)
                )
                follower = asyncio.create_task(stream.follow())
                background += [reader, follower]
                try:
                    await asyncio.wait(background, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    await previews.close()
                if not follower.done():  # the client left first, or took no reply
                    if isinstance(error := reader.exception(), Closing):
                        raise error
                    return
                follower.result()  # raises Closing if the client had to be dropped
        if await close_quietly(ws, NORMAL_CLOSURE, "task finished"):
            WEBSOCKETS_DROPPED.inc()  # it took no close frame either: aborted
    except Closing as closing:
        # Counted once: dropped for not reading, or aborted for not taking the close frame.
        if await close_quietly(ws, closing.code, closing.reason) or closing.dropped:
            WEBSOCKETS_DROPPED.inc()
    except WebSocketDisconnect:
        pass
    finally:
        for task in background:
            task.cancel()
        for task in background:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task
        WEBSOCKETS.dec()
