"""`WS /v1/posture/stream` over a real server process: auth, bad input, flood, rate limit,
calibration, pause/resume, settings and alerts (landmark JSON as on-device clients send it)."""

import asyncio
import io
import json
import time
import uuid

import numpy as np
import pytest
import skimage.data
from PIL import Image
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from saekdam_posture.synthetic import forward_head_pose, landmarks_payload, upright_pose

pytestmark = pytest.mark.slow

MAX_FRAME_BYTES = 256 * 1024
MAX_MESSAGES_PER_S = 20
CALIBRATION_S = 3.0
ALERT_PERSISTENCE_S = 1.0
FPS = 10


@pytest.fixture(scope="module")
def posture_database_url(posture_postgres_url) -> str:
    return posture_postgres_url  # history runs on both; the stream on PostgreSQL


@pytest.fixture(scope="module")
def posture_service_env() -> dict[str, str]:
    return {
        "MAX_FRAME_BYTES": str(MAX_FRAME_BYTES),
        "MAX_MESSAGES_PER_S": str(MAX_MESSAGES_PER_S),
        # The flood test sends frames faster than any camera; the limit itself is tested
        # in test_frames_beyond_the_rate_limit_are_refused.
        "MAX_FRAMES_PER_S": "1000",
        "CALIBRATION_S": str(CALIBRATION_S),
        "WS_AUTH_TIMEOUT_S": "1",
        "ALERT_PERSISTENCE_S": str(ALERT_PERSISTENCE_S),
        "ALERT_COOLDOWN_S": "30",
    }


def jpeg(rgb: np.ndarray, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def upright(frame_id: int, rng: np.random.Generator) -> dict:
    return landmarks_payload(upright_pose(noise_px=0.5, rng=rng), frame_id)


async def stream_poses(stream, make_payload, *, until, within_s: float, fps: float = FPS):
    """Send one landmark frame every 1/fps s, reading its answer, until `until(message)`.

    A message a result brings along (an alert, a calibration verdict) arrives after that
    result, so it is read with the next frame's answer. Returns (the matching message, every
    message read); the last one read is always a result.
    """
    read: list[dict] = []
    deadline = time.monotonic() + within_s
    frame_id = 0
    while time.monotonic() < deadline:
        frame_id += 1
        sent_at = time.monotonic()
        await stream.send(make_payload(frame_id))
        matched = None
        while True:
            message = await stream.recv()
            read.append(message)
            if matched is None and until(message):
                matched = message
            if message["type"] == "result":
                assert message["frame"] == frame_id, message
                break
            assert message["type"] in ("alert", "calibration"), message
        if matched is not None:
            return matched, read
        await asyncio.sleep(max(0.0, 1 / fps - (time.monotonic() - sent_at)))
    raise AssertionError(f"condition not met in {within_s} s; last messages: {read[-5:]}")


async def calibrate(stream, rng, setup: str | None = None) -> list[dict]:
    start = {"type": "calibrate", "action": "start"} | ({"setup": setup} if setup else {})
    await stream.send(start)
    started = await stream.recv()
    assert started["type"] == "calibration" and started["status"] == "started", started
    assert started["duration_s"] == CALIBRATION_S
    done, read = await stream_poses(
        stream,
        lambda i: upright(i, rng),
        until=lambda m: m["type"] == "calibration",
        within_s=CALIBRATION_S + 5,
    )
    assert done["status"] == "completed", done
    return [started, *read]


@pytest.fixture(scope="module")
async def calibrated_user(posture_service, open_stream):
    """A user calibrated (setup "default") over the socket; the messages of that run."""
    user_id = str(uuid.uuid4())
    async with open_stream(posture_service.token(user_id)) as stream:
        assert stream.ready["calibrated"] is False
        messages = await calibrate(stream, np.random.default_rng(1))
    return user_id, messages


# -- authentication ----------------------------------------------------------------------------


async def _expect_policy_close(posture_service, headers=None, first=None) -> tuple[int, str]:
    """Connect, optionally send `first`; the server must close 1008 without saying anything."""
    received = []
    async with connect(posture_service.ws_url, additional_headers=headers, open_timeout=5) as ws:
        if first is not None:
            await ws.send(first)
        with pytest.raises(ConnectionClosed):
            while True:
                received.append(await asyncio.wait_for(ws.recv(), 5))
    assert received == []
    return ws.close_code, ws.close_reason


@pytest.mark.parametrize(
    "case",
    [
        "silent",
        "first_frame_not_auth",
        "first_frame_binary",
        "first_frame_bad_json",
        "bad_token_header",
        "bad_token_frame",
        "forged_token_frame",
        "expired_token_header",
        "expired_token_frame",
    ],
)
async def test_auth_failures_close_1008_before_anything_is_sent(case, posture_service):
    user = str(uuid.uuid4())
    expired = posture_service.token(user, ttl_s=-60)
    forged = posture_service.token(user).rsplit(".", 1)[0] + ".c2lnbmF0dXJl"
    headers, first, reason = {
        "silent": (None, None, "authentication required"),
        "first_frame_not_auth": (None, json.dumps({"type": "ping"}), "authentication required"),
        "first_frame_binary": (None, b"\xff\xd8\xff\x00", "authentication required"),
        "first_frame_bad_json": (None, "{token", "authentication required"),
        "bad_token_header": ({"Authorization": "Bearer not-a-jwt"}, None, "token_invalid"),
        "bad_token_frame": (None, json.dumps({"type": "auth", "token": "x.y.z"}), "token_invalid"),
        "forged_token_frame": (
            None,
            json.dumps({"type": "auth", "token": forged}),
            "token_invalid",
        ),
        "expired_token_header": ({"Authorization": f"Bearer {expired}"}, None, "token_expired"),
        "expired_token_frame": (
            None,
            json.dumps({"type": "auth", "token": expired}),
            "token_expired",
        ),
    }[case]
    started = time.monotonic()
    code, close_reason = await _expect_policy_close(posture_service, headers, first)
    assert (code, close_reason) == (1008, reason)
    if case == "silent":  # WS_AUTH_TIMEOUT_S
        assert 0.8 < time.monotonic() - started < 4


@pytest.mark.parametrize("auth", ["header", "frame"])
@pytest.mark.parametrize(
    ("what", "reason"), [("deleted", "token_invalid"), ("disabled", "account_disabled")]
)
async def test_a_deleted_or_disabled_users_token_closes_1008(
    what, reason, auth, posture_service, open_stream
):
    user_id = str(uuid.uuid4())
    token = posture_service.token(user_id)
    async with open_stream(token, auth=auth):
        pass  # the token works while its user does
    if what == "deleted":
        posture_service.delete_user(user_id)
    else:
        posture_service.disable_user(user_id)
    if auth == "header":
        closed = await _expect_policy_close(posture_service, {"Authorization": f"Bearer {token}"})
    else:
        frame = json.dumps({"type": "auth", "token": token})
        closed = await _expect_policy_close(posture_service, first=frame)
    assert closed == (1008, reason)


async def test_foreign_origin_is_refused(posture_service):
    with pytest.raises(InvalidStatus) as info:
        async with connect(posture_service.ws_url, origin="https://evil.example", open_timeout=5):
            pass
    assert info.value.response.status_code == 403


@pytest.mark.parametrize("auth", ["header", "frame"])
async def test_header_and_first_frame_auth_both_get_ready(auth, posture_token, open_stream):
    async with open_stream(posture_token(), auth=auth) as stream:
        ready = stream.ready
        assert ready["setup"] == "default" and ready["calibrated"] is False
        assert ready["calibration_s"] == CALIBRATION_S
        assert ready["limits"] == {
            "max_frame_bytes": MAX_FRAME_BYTES,
            "max_frame_side": 4096,
            "max_messages_per_s": MAX_MESSAGES_PER_S,
        }
        uuid.UUID(ready["session_id"])
        await stream.send({"type": "ping"})
        assert await stream.recv() == {"type": "pong"}


# -- bad input ---------------------------------------------------------------------------------


async def test_bad_messages_get_error_frames_and_the_session_continues(
    posture_service, open_stream
):
    photo = jpeg(skimage.data.astronaut())
    landmarks = landmarks_payload(upright_pose(), frame_id=7)
    binary_cases = [
        (b"\x00\x01garbage bytes", "frame_type_unsupported"),
        (b"\xff\xd8\xff" + bytes(2 * MAX_FRAME_BYTES), "frame_too_large"),
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "frame_type_unsupported"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "frame_undecodable"),  # no SOF in the header
    ]
    text_cases = [
        ("{not json", "invalid_json"),
        ("[1, 2, 3]", "invalid_json"),
        ("", "invalid_json"),
        (json.dumps({"type": "dance"}), "unknown_message"),
        (json.dumps({"frame_id": 1}), "invalid_message"),
        (json.dumps(landmarks | {"landmarks": landmarks["landmarks"][:32]}), "invalid_message"),
        (json.dumps(landmarks | {"image": {"width": 0, "height": 480}}), "invalid_message"),
        (json.dumps({"type": "settings", "sensitivity": 1.5}), "invalid_message"),
        (json.dumps({"type": "calibrate", "action": "explode"}), "invalid_message"),
        (json.dumps({"type": "calibrate", "action": "finish"}), "calibration_not_started"),
    ]
    async with open_stream(posture_service.token()) as stream:
        for frame_id, (data, code) in enumerate(binary_cases, start=1):
            await stream.send(data)
            error = await stream.recv()
            assert error["type"] == "error" and error["error"]["code"] == code, (data[:8], error)
            assert error["frame"] == frame_id and error["error"]["message"]
        # A frame whose header is fine but whose data is not fails in the decoder, off the loop.
        await stream.send(photo[: len(photo) // 3])
        error = await stream.recv()
        assert error["error"]["code"] == "frame_undecodable" and error["frame"] == 5, error

        for text, code in text_cases:
            await stream.send(text)
            error = await stream.recv()
            assert error["type"] == "error" and error["error"]["code"] == code, (text[:40], error)

        # Degenerate landmarks validate but describe no person: a result, not a crash.
        flat = landmarks | {"landmarks": [{"x": 0.5, "y": 0.5}] * 33}
        await stream.send(flat)
        result = await stream.recv()
        assert result["type"] == "result" and result["reason"] == "implausible_shoulders", result

        # The session goes on: control messages, landmark frames and photos all still work.
        await stream.send({"type": "ping"})
        assert await stream.recv() == {"type": "pong"}
        await stream.send(landmarks)
        result = await stream.recv()
        assert result["type"] == "result" and result["frame"] == 7
        assert result["source"] == "landmarks" and result["state"] == "uncalibrated"
        assert result["features"]["face_scale"] > 0
        await stream.send(photo)
        result = await stream.recv()
        assert result["type"] == "result" and result["frame"] == 6 and result["source"] == "frame"
        assert result["reason"] is None and result["features"]["shoulder_width"] > 0.3
        assert await stream.drain(quiet_s=0.3) == []


# -- flood -------------------------------------------------------------------------------------


async def test_a_flood_is_thinned_to_what_the_server_can_process_latest_first(
    posture_service, open_stream
):
    frame = jpeg(np.ascontiguousarray(skimage.data.astronaut()))
    sent = 30
    async with open_stream(posture_service.token()) as stream:
        for _ in range(sent):
            await stream.send(frame)
        await stream.until(lambda m: m.get("frame") == sent, wait_s=15)
        messages = stream.seen + await stream.drain(quiet_s=0.5)

    results = [m for m in messages if m["type"] == "result"]
    errors = [m for m in messages if m["type"] == "error"]
    frames = [r["frame"] for r in results]
    dropped = sum(r["dropped"] for r in results)
    print(f"\nflood: {sent} frames sent, {len(results)} processed {frames}, {dropped} dropped")
    assert errors == []
    assert len(results) + dropped == sent  # every frame accounted for
    assert len(results) <= sent // 3  # far fewer processed than sent
    assert frames == sorted(set(frames))  # never out of order, never twice
    assert frames[-1] == sent  # the newest frame is always processed
    assert all(r["source"] == "frame" and r["state"] == "uncalibrated" for r in results)
    assert all(r["features"] for r in results)


# -- rate limit --------------------------------------------------------------------------------


async def test_text_messages_beyond_the_rate_limit_get_rate_limited(posture_service, open_stream):
    sent = 2 * MAX_MESSAGES_PER_S
    async with open_stream(posture_service.token()) as stream:
        for _ in range(sent):
            await stream.send({"type": "ping"})
        messages = [await stream.recv() for _ in range(sent)]
        pongs = [m for m in messages if m["type"] == "pong"]
        limited = [m for m in messages if m["type"] == "error"]
        assert len(pongs) + len(limited) == sent
        # A burst of one second's worth passes, the rest is refused (the bucket refills by
        # a little while the burst arrives).
        assert MAX_MESSAGES_PER_S <= len(pongs) <= MAX_MESSAGES_PER_S + 10, len(pongs)
        assert {m["error"]["code"] for m in limited} == {"rate_limited"}
        # The bucket refills: a second later the session answers again.
        await asyncio.sleep(1.1)
        await stream.send({"type": "ping"})
        assert await stream.recv() == {"type": "pong"}


# -- calibration -------------------------------------------------------------------------------


async def test_calibration_over_the_socket_finishes_by_itself(calibrated_user):
    _, messages = calibrated_user
    started, *rest = messages
    assert started["setup"] == "default"
    at = next(i for i, m in enumerate(rest) if m["type"] == "calibration")
    results, verdict, after = rest[:at], rest[at], rest[at + 1 :]
    assert verdict == {
        "type": "calibration",
        "status": "completed",
        "setup": "default",
        "stored": True,
    }
    # The very next frame is scored against the new baseline.
    assert [(m["type"], m["state"], m["calibration"]) for m in after] == [("result", "good", None)]
    assert all(r["type"] == "result" for r in results)
    assert all(r["state"] == "uncalibrated" and r["score"] is None for r in results)
    progress = [r["calibration"] for r in results]
    assert all(p is not None and p["duration_s"] == CALIBRATION_S for p in progress)
    assert [p["samples"] for p in progress] == list(range(1, len(results) + 1))
    fractions = [p["fraction"] for p in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert [p["ready"] for p in progress] == [False] * (len(results) - 1) + [True]
    assert progress[-1]["elapsed_s"] >= CALIBRATION_S and progress[-1]["samples"] >= 10
    # Finished as soon as it could be: about CALIBRATION_S at FPS.
    assert len(results) <= (CALIBRATION_S + 1.5) * FPS


async def test_calibration_is_stored_per_user_and_setup(
    calibrated_user, posture_service, open_stream
):
    user_id, _ = calibrated_user
    rng = np.random.default_rng(2)
    async with open_stream(posture_service.token(user_id)) as stream:
        assert stream.ready["calibrated"] is True and stream.ready["setup"] == "default"
        for frame_id in range(1, 4):
            await stream.send(upright(frame_id, rng))
            result = await stream.recv()
            assert result["state"] == "good" and result["score"] < 0.1, result
            assert result["calibration"] is None and result["reason"] is None

        # Another setup of the same user has no baseline until it is calibrated.
        await stream.send({"type": "settings", "setup": "desk monitor"})
        switched = await stream.recv()
        assert switched == {
            "type": "settings",
            "sensitivity": 0.5,
            "setup": "desk monitor",
            "calibrated": False,
        }
        await stream.send(upright(4, rng))
        assert (await stream.recv())["state"] == "uncalibrated"
        await stream.send({"type": "settings", "setup": "default"})
        assert (await stream.recv())["calibrated"] is True
        await stream.send(upright(5, rng))
        assert (await stream.recv())["state"] == "good"

    # And another user has none at all.
    async with open_stream(posture_service.token()) as stream:
        assert stream.ready["calibrated"] is False


async def test_calibrating_a_named_setup_keeps_the_other_setups(
    calibrated_user, posture_service, open_stream
):
    """Re-running calibration for a new setup stores that setup; "default" is unaffected."""
    user_id, _ = calibrated_user
    async with open_stream(posture_service.token(user_id)) as stream:
        await stream.send({"type": "calibrate", "action": "start", "setup": "laptop"})
        started = await stream.recv()
        assert started["status"] == "started" and started["setup"] == "laptop"
        # Finishing before the minimum time fails and ends the attempt ...
        await stream.send(upright(1, np.random.default_rng(3)))
        assert (await stream.recv())["state"] == "uncalibrated"
        await stream.send({"type": "calibrate", "action": "finish"})
        failed = await stream.recv()
        assert failed["type"] == "calibration" and failed["status"] == "failed", failed
        assert failed["reason"] == "too_short" and failed["setup"] == "laptop"
        assert failed["message"]
        await stream.send({"type": "calibrate", "action": "finish"})
        assert (await stream.recv())["error"]["code"] == "calibration_not_started"
        # ... and a cancelled one stores nothing either.
        await stream.send({"type": "calibrate", "action": "start"})
        assert (await stream.recv())["status"] == "started"
        await stream.send({"type": "calibrate", "action": "cancel"})
        cancelled = await stream.recv()
        assert cancelled == {"type": "calibration", "status": "cancelled", "setup": "laptop"}

    async with open_stream(posture_service.token(user_id)) as stream:
        assert stream.ready["calibrated"] is True  # default
        await stream.send({"type": "settings", "setup": "laptop"})
        assert (await stream.recv())["calibrated"] is False


async def test_pause_resume_and_settings(calibrated_user, posture_service, open_stream):
    user_id, _ = calibrated_user
    rng = np.random.default_rng(4)
    async with open_stream(posture_service.token(user_id)) as stream:
        await stream.send({"type": "settings"})
        assert (await stream.recv())["sensitivity"] == 0.5  # DEFAULT_SENSITIVITY
        await stream.send({"type": "settings", "sensitivity": 0.9})
        echoed = await stream.recv()
        assert echoed == {
            "type": "settings",
            "sensitivity": 0.9,
            "setup": "default",
            "calibrated": True,
        }

        await stream.send({"type": "pause"})
        assert await stream.recv() == {"type": "status", "state": "paused"}
        for frame_id in (1, 2):
            await stream.send(upright(frame_id, rng))
            result = await stream.recv()
            assert result["state"] == "paused" and result["score"] is None, result
            assert result["features"] is None  # nothing is computed while paused
        await stream.send({"type": "resume"})
        assert await stream.recv() == {"type": "status", "state": "resumed"}
        await stream.send(upright(3, rng))
        result = await stream.recv()
        assert result["state"] == "good" and result["features"], result


# -- alerts ------------------------------------------------------------------------------------


async def test_forward_head_frames_raise_an_alert(calibrated_user, posture_service, open_stream):
    user_id, _ = calibrated_user
    rng = np.random.default_rng(5)

    def forward(frame_id: int) -> dict:
        return landmarks_payload(forward_head_pose(6.0, noise_px=0.5, rng=rng), frame_id)

    async with open_stream(posture_service.token(user_id)) as stream:
        started = time.monotonic()
        alert, read = await stream_poses(
            stream, forward, until=lambda m: m["type"] == "alert", within_s=8
        )
        took = time.monotonic() - started
        results = [m for m in read if m["type"] == "result"]
        print(f"\nalert after {took:.1f} s, {len(results)} frames: {alert}")
        assert alert["level"] == 1 and alert["state"] == "forward_head"
        assert "forward" in alert["message"] and alert["bad_for_s"] >= ALERT_PERSISTENCE_S
        assert took >= ALERT_PERSISTENCE_S
        # The results leading up to it: the smoothed index climbs to the bad state.
        assert results[-1]["state"] == "forward_head" and results[-1]["score"] >= 0.5
        assert results[0]["raw_score"] >= 0.5
        scores = [r["score"] for r in results]
        assert scores == sorted(scores)
        # The cooldown holds back a second alert while the posture stays bad.
        for frame_id in range(100, 100 + FPS):
            await stream.send(forward(frame_id))
            assert (await stream.recv())["state"] == "forward_head"
        assert all(m["type"] != "alert" for m in await stream.drain(quiet_s=0.2))
