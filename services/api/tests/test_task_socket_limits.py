"""The task websocket against a hostile client, on a real uvicorn socket and real Redis: a
client that stops reading is gone within the send timeout and a little (and counted in
saekdam_websocket_dropped_total); a deeply nested or oversized text frame, the auth frame
included, is refused before it is parsed, and the server goes on serving."""

import asyncio
import json

import pytest
import websockets
from redis.asyncio import Redis

from saekdam_api.app import create_app
from saekdam_api.metrics import registry
from saekdam_api.routes.task_events import MAX_CLIENT_FRAME_BYTES
from saekdam_contracts.events import TaskEvent
from saekdam_contracts.redis_keys import TASK_EVENTS_CHANNEL
from saekdam_contracts.status import TaskStatus
from saekdam_web.websockets import CLOSE_TIMEOUT_S, POLICY_VIOLATION
from tests.fixtures.live_uvicorn import (
    open_websockets,
    stalled_client,
    stalled_since,
    uvicorn_serving,
    wait_until_gone,
)

from .live_server import guest_task

SEND_TIMEOUT_S = 0.5
# The send timeout, the watchdog's tick, the close bound and a wide margin for a loaded box.
DROPPED_WITHIN_S = SEND_TIMEOUT_S + 0.25 + CLOSE_TIMEOUT_S + 3.0


@pytest.fixture
async def app(api_settings):
    api_settings.ws_send_timeout_s = SEND_TIMEOUT_S
    api_settings.ws_queue_size = 1000  # never overflows here: the send timeout is what drops
    return create_app(api_settings)


@pytest.fixture
async def live(app):
    # As `python -m saekdam_api` serves it.
    options = {"ws": "websockets-sansio", "ws_per_message_deflate": False}
    async with uvicorn_serving(app, ws_max_size=64 * 1024, **options) as (server, address):
        yield server, address


@pytest.fixture
async def redis(redis_url):
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


def dropped() -> float:
    return registry.get_sample_value("saekdam_websocket_dropped_total")


async def receive(ws, timeout_s: float = 5) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout_s))


async def test_a_client_that_stops_reading_is_closed_within_the_send_timeout(app, live, redis):
    server, address = live
    task_id, headers = await guest_task(address)
    url = f"ws://{address}/v1/tasks/{task_id}/events"
    before = dropped()
    stalled = await stalled_client(url, headers)
    try:
        async with asyncio.timeout(5):
            while app.state.hub.watcher_count != 1:  # noqa: ASYNC110 - snapshot sent
                await asyncio.sleep(0.02)
        waiting = asyncio.create_task(stalled_since(server))
        stage = "x" * 250_000  # the kernel buffers (a few MB) are full within a few frames
        for seq in range(1, 61):
            event = TaskEvent(
                type="progress", task_id=task_id, seq=seq, status=TaskStatus.INPROGRESS, stage=stage
            )
            await redis.publish(TASK_EVENTS_CHANNEL, event.model_dump_json())
        stalled_at = await waiting
        await wait_until_gone(server, DROPPED_WITHIN_S)
        took = asyncio.get_running_loop().time() - stalled_at
        print(f"\ngone {took:.2f} s after the send buffer filled")
        assert dropped() == before + 1
        assert app.state.hub.watcher_count == 0
    finally:
        stalled.transport.abort()

    # Another client of the task is served as ever.
    async with websockets.connect(url, additional_headers=headers) as ws:
        assert (await receive(ws))["type"] == "snapshot"
        await ws.send(json.dumps({"type": "ping"}))
        assert await receive(ws) == {"type": "pong"}


def nested_arrays(depth: int) -> str:
    return "[" * depth + "]" * depth


def nested_objects(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


async def test_deep_or_large_frames_after_auth_get_error_frames_and_the_session_goes_on(live):
    server, address = live
    task_id, headers = await guest_task(address)
    url = f"ws://{address}/v1/tasks/{task_id}/events"
    cases = [
        (nested_arrays(3000), "message_too_deep"),  # 6 kB: json.loads would recurse 3000 deep
        (nested_objects(1200), "message_too_deep"),
        ('{"type": "ping", "x": ' + nested_arrays(33) + "}", "message_too_deep"),
        (nested_arrays(5000), "message_too_large"),  # the 10 kB of the report
        (json.dumps({"type": "ping", "pad": "x" * MAX_CLIENT_FRAME_BYTES}), "message_too_large"),
    ]
    async with websockets.connect(url, additional_headers=headers) as ws:
        assert (await receive(ws))["type"] == "snapshot"
        for text, code in cases:
            await ws.send(text)
            reply = await receive(ws)
            assert reply["type"] == "error" and reply["error"]["code"] == code, (text[:30], reply)
            assert reply["error"]["message"]
        # Brackets inside strings are text, not nesting; 32 levels are fine.
        await ws.send(json.dumps({"type": "ping", "x": "[" * 5000}))
        assert await receive(ws) == {"type": "pong"}
        await ws.send('{"type": "ping", "x": ' + nested_arrays(31) + "}")
        assert await receive(ws) == {"type": "pong"}
    assert ws.close_code is None or ws.close_code == 1000
    # The server goes on.
    async with websockets.connect(url, additional_headers=headers) as ws:
        assert (await receive(ws))["type"] == "snapshot"
    await wait_until_gone(server, 5)


@pytest.mark.parametrize(
    "frame",
    [
        '{"type": "auth", "token": ' + nested_arrays(4000) + "}",
        nested_objects(1200),
        nested_arrays(5000),
    ],
    ids=["deep token", "deep objects", "10 kB of arrays"],
)
async def test_a_deep_auth_frame_closes_1008_and_the_next_client_is_served(live, frame):
    _, address = live
    task_id, headers = await guest_task(address)
    url = f"ws://{address}/v1/tasks/{task_id}/events"
    async with websockets.connect(url) as ws:
        await ws.send(frame)
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == POLICY_VIOLATION
    assert ws.close_reason == "authentication required"
    async with websockets.connect(url, additional_headers=headers) as ws:
        assert (await receive(ws))["type"] == "snapshot"


async def test_open_websockets_are_counted_by_the_helper(live):
    server, address = live
    task_id, headers = await guest_task(address)
    async with websockets.connect(
        f"ws://{address}/v1/tasks/{task_id}/events", additional_headers=headers
    ) as ws:
        assert (await receive(ws))["type"] == "snapshot"
        assert len(open_websockets(server)) == 1
    await wait_until_gone(server, 5)
