"""Live previews on the task websocket: the API in process behind a real uvicorn socket, on
real Redis. The test plays the worker: it publishes PreviewFrames and TaskEvents itself."""

import asyncio
import json
import time

import httpx
import pytest
import websockets
from redis.asyncio import Redis

from saekdam_api.app import create_app
from saekdam_backbone.previews import PreviewBus
from saekdam_contracts.events import TaskEvent
from saekdam_contracts.previews import PreviewFrame
from saekdam_contracts.redis_keys import TASK_EVENTS_CHANNEL
from saekdam_contracts.status import TaskStatus

from .live_server import guest_task, serving

TINY_JPEG = "data:image/jpeg;base64,/9j/4AAQSkZJRg=="


@pytest.fixture
async def server(api_settings):
    async with serving(create_app(api_settings)) as address:
        yield address


@pytest.fixture
async def redis(redis_url):
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def task(server) -> tuple[str, dict]:
    return await guest_task(server)


def connect(server: str, task_id: str, headers: dict):
    return websockets.connect(
        f"ws://{server}/v1/tasks/{task_id}/events", additional_headers=headers
    )


async def receive(ws, timeout_s: float = 5) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout_s))


async def options(ws, previews) -> dict:
    await ws.send(json.dumps({"type": "options", "previews": previews}))
    return await receive(ws)


def preview(task_id: str, step: int) -> PreviewFrame:
    return PreviewFrame(
        task_id=task_id, step=step, total_steps=12, width=64, height=48, image=TINY_JPEG
    )


async def nothing_but_pong(ws) -> None:
    """The next frame is the answer to this ping: nothing else was sent before it."""
    await ws.send(json.dumps({"type": "ping"}))
    assert await receive(ws) == {"type": "pong"}


@pytest.mark.parametrize(
    ("previews", "where"),
    [
        ({"max_side": 1000}, "previews.max_side"),
        ({"max_side": 32}, "previews.max_side"),
        ({"every_s": 0.1}, "previews.every_s"),
        ({"max_side": 256, "fps": 30}, "previews.fps"),
        ("yes", "previews"),
    ],
)
async def test_malformed_options_get_an_error_frame_and_the_socket_stays_open(
    server, task, previews, where
):
    task_id, headers = task
    async with connect(server, task_id, headers) as ws:
        assert (await receive(ws))["type"] == "snapshot"
        reply = await options(ws, previews)
        assert reply["type"] == "error" and reply["error"]["code"] == "invalid_options"
        assert reply["error"]["message"].startswith(where)
        await nothing_but_pong(ws)


async def test_options_are_acknowledged_with_their_defaults_and_null_turns_them_off(
    server, task, redis
):
    task_id, headers = task
    bus = PreviewBus(redis)
    async with connect(server, task_id, headers) as ws:
        await receive(ws)
        ack = await options(ws, {"max_side": 128})
        assert ack == {"type": "options", "previews": {"max_side": 128, "every_s": 0.5}}
        demand = await bus.demand(task_id)
        assert (demand.max_side, demand.every_s) == (128, 0.5)
        assert await options(ws, None) == {"type": "options", "previews": None}
        assert await bus.demand(task_id) is None
        await bus.publish(preview(task_id, 1))
        await asyncio.sleep(0.2)
        await nothing_but_pong(ws)


async def test_previews_reach_only_the_client_that_opted_in(server, task, redis):
    task_id, headers = task
    bus = PreviewBus(redis)
    async with (
        connect(server, task_id, headers) as watching,
        connect(server, task_id, headers) as plain,
    ):
        await receive(watching), await receive(plain)
        await options(watching, {"max_side": 256, "every_s": 0.25})
        await bus.publish(preview(task_id, 3))
        frame = await receive(watching)
        assert frame == preview(task_id, 3).model_dump()
        assert "seq" not in frame
        await asyncio.sleep(0.2)
        await nothing_but_pong(plain)
    # Both gone: nobody watches, so the worker makes no more previews.
    async with asyncio.timeout(5):
        while await bus.demand(task_id) is not None:  # noqa: ASYNC110 - Redis, not an event
            await asyncio.sleep(0.02)


async def test_previews_come_no_faster_than_asked_and_the_newest_wins(server, task, redis):
    task_id, headers = task
    bus = PreviewBus(redis)
    async with connect(server, task_id, headers) as ws:
        await receive(ws)
        await options(ws, {"every_s": 0.5})
        arrivals: list[tuple[float, int]] = []

        async def collect():
            while True:
                frame = await receive(ws, 10)
                arrivals.append((time.monotonic(), frame["step"]))

        collector = asyncio.create_task(collect())
        began = time.monotonic()
        for step in range(1, 21):  # 20 previews in about a second
            await bus.publish(preview(task_id, step))
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.7)
        collector.cancel()
        # At most one per 0.5 s of however long publishing took on this (loaded) machine.
        most = int((time.monotonic() - began) / 0.5) + 1
        steps = [step for _, step in arrivals]
        gaps = [b[0] - a[0] for a, b in zip(arrivals, arrivals[1:], strict=False)]
        assert 2 <= len(arrivals) <= most, (arrivals, most)
        assert all(gap >= 0.45 for gap in gaps), gaps
        assert steps == sorted(steps) and steps[-1] == 20


async def test_a_client_opting_in_mid_job_gets_the_latest_right_after_its_snapshot(
    server, task, redis
):
    task_id, headers = task
    bus = PreviewBus(redis)
    await bus.publish(preview(task_id, 5))  # nobody listening yet; kept as the latest
    async with connect(server, task_id, headers) as ws:
        snapshot = await receive(ws)
        assert snapshot["type"] == "snapshot"
        assert (await options(ws, {"max_side": 64}))["type"] == "options"
        assert await receive(ws) == preview(task_id, 5).model_dump()
        # State frames carry on from the snapshot's seq, one per change, previews between.
        for offset in (1, 2):
            event = TaskEvent(
                type="progress",
                task_id=task_id,
                seq=snapshot["seq"] + offset,
                status=TaskStatus.INPROGRESS,
                progress=0.1 * offset,
            )
            await redis.publish(TASK_EVENTS_CHANNEL, event.model_dump_json())
            await bus.publish(preview(task_id, 5 + offset))
        frames = [await receive(ws) for _ in range(3)]
        states = [f for f in frames if f["type"] != "preview"]
        assert [f["seq"] for f in states] == [snapshot["seq"] + 1, snapshot["seq"] + 2]
        # The first state frame went out before any of the new previews.
        assert frames[0]["type"] != "preview"
    async with httpx.AsyncClient(base_url=f"http://{server}", headers=headers) as http:
        assert (await http.get(f"/v1/tasks/{task_id}")).json()["status"] == "CREATED"
