"""Fan-out of task events to many sockets: the API in process behind a real uvicorn socket,
on real Redis. The test plays the worker and publishes TaskEvents itself."""

import asyncio
import base64
import json
import os
import socket
import time

import pytest
import websockets
from redis.asyncio import Redis

from saekdam_api.app import create_app
from saekdam_api.events.hub import EventHub
from saekdam_contracts.events import TaskEvent
from saekdam_contracts.redis_keys import TASK_EVENTS_CHANNEL
from saekdam_contracts.status import TaskStatus

from .live_server import guest_task, serving


@pytest.fixture
async def app(api_settings):
    api_settings.ws_queue_size = 4
    api_settings.ws_send_timeout_s = 2.0
    return create_app(api_settings)


@pytest.fixture
async def server(app):
    async with serving(app, ws="websockets-sansio", ws_per_message_deflate=False) as address:
        yield address


@pytest.fixture
async def redis(redis_url):
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def task(server) -> tuple[str, dict]:
    return await guest_task(server)


def event(task_id: str, seq: int, stage: str = "painting") -> TaskEvent:
    return TaskEvent(
        type="progress", task_id=task_id, seq=seq, status=TaskStatus.INPROGRESS, stage=stage
    )


async def receive(ws, timeout_s: float = 5) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout_s))


async def stalled_socket(server: str, task_id: str, headers: dict) -> socket.socket:
    """A client that completes the upgrade, then never reads again, with a tiny receive
    window so the server's writes back up at once."""
    host, port = server.split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /v1/tasks/{task_id}/events HTTP/1.1\r\nHost: {server}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n"
        f"Authorization: {headers['Authorization']}\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    response = await asyncio.wait_for(loop.sock_recv(sock, 4096), 5)
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


async def test_a_stalled_client_does_not_delay_the_others_and_is_dropped(app, server, task, redis):
    task_id, headers = task
    url = f"ws://{server}/v1/tasks/{task_id}/events"
    stalled = await stalled_socket(server, task_id, headers)
    try:
        async with (
            websockets.connect(url, additional_headers=headers) as first,
            websockets.connect(url, additional_headers=headers) as second,
        ):
            assert (await receive(first))["type"] == (await receive(second))["type"] == "snapshot"
            assert app.state.hub.watcher_count == 3
            # Big frames: the stalled socket's kernel buffers (a few MB) fill within a few.
            stage = "x" * 250_000
            for seq in range(1, 41):
                sent = time.perf_counter()
                await redis.publish(
                    TASK_EVENTS_CHANNEL, event(task_id, seq, stage).model_dump_json()
                )
                for ws in (first, second):
                    assert (await receive(ws))["seq"] == seq
                # Each frame arrives as fast as with nobody stalled, never after a send
                # timeout spent on the stalled socket.
                assert time.perf_counter() - sent < 1.0
            # The stalled socket overflowed its own queue and was let go; the others stay.
            async with asyncio.timeout(10):
                while app.state.hub.watcher_count != 2:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            await redis.publish(TASK_EVENTS_CHANNEL, event(task_id, 41).model_dump_json())
            assert (await receive(first))["seq"] == (await receive(second))["seq"] == 41
    finally:
        stalled.close()


async def test_every_socket_of_a_task_gets_the_snapshot_then_each_newer_seq_once(
    server, task, redis
):
    task_id, headers = task
    url = f"ws://{server}/v1/tasks/{task_id}/events"
    sockets = [websockets.connect(url, additional_headers=headers) for _ in range(20)]
    clients = await asyncio.gather(*sockets)
    try:
        snapshots = await asyncio.gather(*(receive(ws) for ws in clients))
        assert {s["type"] for s in snapshots} == {"snapshot"}
        base = snapshots[0]["seq"]
        # A repeat and a stale seq in between: neither may reach a client.
        for seq in (1, 2, 2, 1, 3):
            await redis.publish(TASK_EVENTS_CHANNEL, event(task_id, base + seq).model_dump_json())
        for ws in clients:
            frames = [await ws.recv() for _ in range(3)]
            assert [json.loads(f)["seq"] for f in frames] == [base + 1, base + 2, base + 3]
        # One text per event, whoever receives it.
        assert len({f for f in frames}) == 3
        await asyncio.sleep(0.2)
        for ws in clients:
            await ws.send(json.dumps({"type": "ping"}))
            assert await receive(ws) == {"type": "pong"}
    finally:
        await asyncio.gather(*(ws.close() for ws in clients))


async def test_a_dispatched_event_is_encoded_once_for_all_its_watchers(redis_url):
    hub = EventHub(Redis.from_url(redis_url), "unused")
    calls = []

    async def encode(e: TaskEvent) -> str:
        calls.append(e.seq)
        return e.model_dump_json()

    published = event("t", 1)
    texts = [await hub.encoded(published, encode) for _ in range(100)]
    assert len(set(texts)) == 1 and calls == [1]
    # An equal event published again is another event: encoded afresh.
    await hub.encoded(event("t", 1), encode)
    assert calls == [1, 1]
