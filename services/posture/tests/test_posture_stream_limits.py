"""`WS /v1/posture/stream` against a hostile client, the app in this process behind a real
uvicorn socket: a client that stops reading is gone within `send_timeout_s` and a little
(counted in saekdam_websocket_dropped_total); a deeply nested or oversized text message gets
an error frame and the session goes on; a deeply nested auth frame closes 1008."""

import asyncio
import contextlib
import json
import secrets
import uuid

import pytest
from sqlalchemy import insert
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from saekdam_backbone.db import create_engine
from saekdam_backbone.tokens import issue_token
from saekdam_backbone.users import User
from saekdam_posture.app import create_app
from saekdam_posture.metrics import registry
from saekdam_posture.settings import PostureSettings
from saekdam_web.websockets import CLOSE_TIMEOUT_S, POLICY_VIOLATION
from tests.fixtures.live_uvicorn import (
    stalled_client,
    stalled_since,
    uvicorn_serving,
    wait_until_gone,
)

SEND_TIMEOUT_S = 0.5
MAX_TEXT_BYTES = 16 * 1024
# The send timeout, the close bound and a wide margin for a loaded machine.
DROPPED_WITHIN_S = SEND_TIMEOUT_S + CLOSE_TIMEOUT_S + 3.0
SECRET = secrets.token_urlsafe(32)


@pytest.fixture(scope="module")
async def live(posture_sqlite_url):
    settings = PostureSettings(
        jwt_secret=SECRET,
        database_url=posture_sqlite_url,
        send_timeout_s=SEND_TIMEOUT_S,
        max_text_bytes=MAX_TEXT_BYTES,
        max_messages_per_s=100_000,  # the flood below is not to be rate limited
        ws_auth_timeout_s=2,
        estimator_threads=1,
        save_every_s=3600,
        log_json=False,
    )
    # As `python -m saekdam_posture` serves it.
    async with uvicorn_serving(create_app(settings), ws="websockets-sansio") as served:
        yield served


@pytest.fixture
async def token(posture_sqlite_url) -> str:
    user_id = str(uuid.uuid4())
    engine = create_engine(posture_sqlite_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(User).values(id=user_id, username="posture-test", is_guest=True)
            )
    finally:
        await engine.dispose()
    return issue_token(user_id, SECRET, 600).token


def dropped() -> float:
    return registry.get_sample_value("saekdam_websocket_dropped_total")


async def recv(ws, timeout_s: float = 5) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout_s))


async def test_a_client_that_stops_reading_is_closed_within_the_send_timeout(live, token):
    server, address = live
    url = f"ws://{address}/v1/posture/stream"
    before = dropped()
    stalled = await stalled_client(url, {"Authorization": f"Bearer {token}"})

    async def flood() -> None:
        # Each gets an error frame naming the unknown type: ~15 kB back per message.
        message = json.dumps({"type": "x" * 15_000})
        with contextlib.suppress(ConnectionClosed):
            while True:
                await stalled.send(message)

    sending = asyncio.create_task(flood())
    try:
        stalled_at = await stalled_since(server)
        await wait_until_gone(server, DROPPED_WITHIN_S)
        took = asyncio.get_running_loop().time() - stalled_at
        print(f"\ngone {took:.2f} s after the send buffer filled")
        assert dropped() == before + 1
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending
        stalled.transport.abort()

    # The server goes on.
    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        assert (await recv(ws))["type"] == "ready"
        await ws.send(json.dumps({"type": "ping"}))
        assert await recv(ws) == {"type": "pong"}


def nested_arrays(depth: int) -> str:
    return "[" * depth + "]" * depth


def nested_objects(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


async def test_deep_or_large_messages_get_error_frames_and_the_session_goes_on(live, token):
    server, address = live
    url = f"ws://{address}/v1/posture/stream"
    cases = [
        (nested_arrays(5000), "message_too_deep"),  # the 10 kB of the report
        (nested_objects(2000), "message_too_deep"),
        ('{"type": "ping", "x": ' + nested_arrays(33) + "}", "message_too_deep"),
        (nested_arrays(10_000), "message_too_large"),
        (json.dumps({"pad": "é" * (MAX_TEXT_BYTES // 2)}, ensure_ascii=False), "message_too_large"),
        ("{not json", "invalid_json"),
    ]
    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        assert (await recv(ws))["type"] == "ready"
        for text, code in cases:
            await ws.send(text)
            reply = await recv(ws)
            assert reply["type"] == "error" and reply["error"]["code"] == code, (text[:30], reply)
            assert reply["error"]["message"]
        # Brackets inside strings are text, not nesting.
        await ws.send(json.dumps({"type": "ping", "x": "[" * 5000}))
        reply = await recv(ws)  # an extra field: refused by the schema, not by the depth scan
        assert reply["error"]["code"] == "invalid_message", reply
        await ws.send(json.dumps({"type": "ping"}))
        assert await recv(ws) == {"type": "pong"}
    await wait_until_gone(server, 5)


@pytest.mark.parametrize(
    "frame",
    [
        '{"type": "auth", "token": ' + nested_arrays(4000) + "}",
        nested_objects(1500),
        nested_arrays(5000),
    ],
    ids=["deep token", "deep objects", "10 kB of arrays"],
)
async def test_a_deep_auth_frame_closes_1008_and_the_next_client_is_served(live, token, frame):
    _, address = live
    url = f"ws://{address}/v1/posture/stream"
    async with connect(url) as ws:
        await ws.send(frame)
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == POLICY_VIOLATION
    assert ws.close_reason == "authentication required"
    async with connect(url) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token}))
        assert (await recv(ws))["type"] == "ready"
