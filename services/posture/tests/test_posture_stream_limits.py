"""`WS /v1/posture/stream` against a hostile client, the app in this process behind a real
uvicorn socket: a client that stops reading is gone within `send_timeout_s` and a little
(counted in saekdam_websocket_dropped_total); a deeply nested or oversized text message gets
an error frame and the session goes on; a deeply nested auth frame closes 1008; past
`max_sessions` (or one user's `max_sessions_per_user`) a socket closes 1013; a frame that
waited past `max_frame_age_s` is dropped."""

import asyncio
import contextlib
import io
import json
import secrets
import uuid

import httpx
import pytest
from PIL import Image
from sqlalchemy import insert
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from saekdam_backbone.db import create_engine
from saekdam_backbone.tokens import issue_token
from saekdam_backbone.users import User
from saekdam_posture.app import create_app
from saekdam_posture.metrics import registry
from saekdam_posture.settings import PostureSettings
from saekdam_posture.synthetic import landmarks_payload, upright_pose
from saekdam_web.websockets import CLOSE_TIMEOUT_S, POLICY_VIOLATION, TRY_AGAIN_LATER
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
    return await new_users_token(posture_sqlite_url)


async def new_users_token(database_url: str) -> str:
    user_id = str(uuid.uuid4())
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(User).values(id=user_id, username="posture-test", is_guest=True)
            )
    finally:
        await engine.dispose()
    return issue_token(user_id, SECRET, 600).token


@pytest.fixture
def tuned(live):
    """tuned(**changes): the live app's settings, changed for the sessions that start until
    the test ends (each session reads them as it starts)."""
    state = live[0].config.app.state
    original = state.settings
    yield lambda **changes: setattr(state, "settings", original.model_copy(update=changes))
    state.settings = original


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


async def test_a_text_message_over_max_text_bytes_is_refused_and_the_session_goes_on(
    live, token, tuned
):
    _, address = live
    cap = 1024
    tuned(max_text_bytes=cap)
    ping = json.dumps({"type": "ping"})
    at_cap = ping + " " * (cap - len(ping))  # whitespace is JSON: exactly `cap` bytes
    landmarks = json.dumps(landmarks_payload(upright_pose(), 1))
    assert cap < len(landmarks) < MAX_TEXT_BYTES  # what the default cap would take
    url = f"ws://{address}/v1/posture/stream"
    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        assert (await recv(ws))["type"] == "ready"
        for text in (at_cap + " ", landmarks):
            await ws.send(text)
            reply = await recv(ws)
            assert reply == {
                "type": "error",
                "error": {
                    "code": "message_too_large",
                    "message": f"a text message may be at most {cap} bytes",
                },
            }
        await ws.send(at_cap)
        assert await recv(ws) == {"type": "pong"}


def open_sessions(live) -> int:
    return live[0].config.app.state.open_sessions


async def until_open_sessions_at_most(live, count: int, timeout_s: float = 10) -> None:
    """Until all but `count` session handlers have finished (saved their record, given back
    their place): a client's close completes before its handler does."""
    async with asyncio.timeout(timeout_s):
        while open_sessions(live) > count:  # noqa: ASYNC110 - no event for this
            await asyncio.sleep(0.02)


async def test_past_max_sessions_a_socket_closes_1013_until_a_place_is_free(live, token, tuned):
    _, address = live
    tuned(max_sessions=2)
    url = f"ws://{address}/v1/posture/stream"
    auth = {"Authorization": f"Bearer {token}"}
    async with connect(url, additional_headers=auth) as first:
        async with connect(url, additional_headers=auth) as second:
            assert (await recv(first))["type"] == (await recv(second))["type"] == "ready"
            for _ in range(3):  # refused, each time, before authentication and with nothing said
                received = []
                async with connect(url, additional_headers=auth) as refused:
                    with pytest.raises(ConnectionClosed):
                        received.append(await asyncio.wait_for(refused.recv(), 5))
                assert received == []
                assert refused.close_code == TRY_AGAIN_LATER
                assert refused.close_reason == "the service is full; try again later"
            assert open_sessions(live) == 2  # the refused ones gave their count back
            await first.send(json.dumps({"type": "ping"}))
            assert await recv(first) == {"type": "pong"}
        # One place is free again.
        await until_open_sessions_at_most(live, 1)
        async with connect(url, additional_headers=auth) as third:
            assert (await recv(third))["type"] == "ready"
    await until_open_sessions_at_most(live, 0)


async def test_past_max_sessions_per_user_that_user_is_refused_and_others_are_not(
    live, token, tuned, posture_sqlite_url
):
    tuned(max_sessions_per_user=2)
    url = f"ws://{live[1]}/v1/posture/stream"
    auth = {"Authorization": f"Bearer {token}"}
    other = {"Authorization": f"Bearer {await new_users_token(posture_sqlite_url)}"}
    async with connect(url, additional_headers=auth) as first:
        async with connect(url, additional_headers=auth) as second:
            assert (await recv(first))["type"] == (await recv(second))["type"] == "ready"
            received = []
            async with connect(url, additional_headers=auth) as refused:
                with pytest.raises(ConnectionClosed):
                    received.append(await asyncio.wait_for(refused.recv(), 5))
            assert received == []
            assert refused.close_code == TRY_AGAIN_LATER
            assert refused.close_reason == "too many sessions of this user; close one first"
            async with connect(url, additional_headers=other) as another_users:
                assert (await recv(another_users))["type"] == "ready"
        # The user's place is free again once one of theirs ends.
        async with connect(url, additional_headers=auth) as again:
            assert (await recv(again))["type"] == "ready"
    await until_open_sessions_at_most(live, 0)
    assert live[0].config.app.state.user_sessions == {}


def small_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (160, 120), (128, 128, 128)).save(buf, "JPEG")
    return buf.getvalue()


async def test_a_frame_that_waited_past_max_frame_age_s_is_dropped_not_processed_late(
    live, token, tuned, monkeypatch
):
    server, address = live
    max_age_s, estimate_s = 0.5, 1.5
    tuned(max_frame_age_s=max_age_s)
    pool = server.config.app.state.pool
    estimate = pool.estimate_frame

    async def slow_estimate(data: bytes):
        await asyncio.sleep(estimate_s)  # a busy estimator
        return await estimate(data)

    monkeypatch.setattr(pool, "estimate_frame", slow_estimate)
    frame = small_jpeg()
    url = f"ws://{address}/v1/posture/stream"
    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        session_id = (await recv(ws))["session_id"]
        await ws.send(frame)  # taken at once
        await asyncio.sleep(0.2)
        # Waits for the first to be done: about estimate_s - 0.2 s, far past max_age_s.
        await ws.send(frame)
        first = await recv(ws, estimate_s + 5)
        assert (first["type"], first["frame"], first["dropped"]) == ("result", 1, 0), first
        await ws.send(frame)  # fresh: processed, and it reports the second as dropped
        third = await recv(ws, estimate_s + 5)
        assert (third["type"], third["frame"], third["dropped"]) == ("result", 3, 1), third
    await until_open_sessions_at_most(live, 0)

    async with httpx.AsyncClient(base_url=f"http://{address}", timeout=5) as client:
        response = await client.get(
            "/v1/posture/sessions", headers={"Authorization": f"Bearer {token}"}
        )
    (record,) = [s for s in response.json()["items"] if s["session_id"] == session_id]
    assert (record["frames"], record["dropped_frames"]) == (3, 1), record
