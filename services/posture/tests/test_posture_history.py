"""Session history over HTTP after real websocket sessions, on SQLite and PostgreSQL, and the
promise that no frame is ever written anywhere (only statistics)."""

import asyncio
import base64
import io
import json
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
import skimage.data
from PIL import Image
from sqlalchemy import LargeBinary, insert, select

from saekdam_backbone.db import create_engine
from saekdam_posture.db.models import Calibration, PostureBase, Session
from saekdam_posture.synthetic import forward_head_pose, landmarks_payload, upright_pose

pytestmark = pytest.mark.slow

CALIBRATION_S = 3.0
IMAGE_MAGIC = (b"\xff\xd8\xff", b"RIFF", b"\x89PNG", b"JFIF", b"/9j/", b"UklGR")


@pytest.fixture(scope="module")
def posture_service_env() -> dict[str, str]:
    return {"CALIBRATION_S": str(CALIBRATION_S), "MAX_MESSAGES_PER_S": "30"}


def jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=90)
    return buf.getvalue()


async def _answer(stream, frame: int) -> dict:
    """This frame's result (a calibration verdict may come first)."""
    while True:
        message = await stream.recv()
        if message["type"] == "result" and message["frame"] == frame:
            return message
        assert message["type"] == "calibration", message


async def _sessions(client: httpx.AsyncClient, token: str, **params) -> httpx.Response:
    return await client.get(
        "/v1/posture/sessions", params=params, headers={"Authorization": f"Bearer {token}"}
    )


@pytest.fixture(scope="module")
async def history(posture_service, open_stream):
    """One user's two sessions: a real one (calibration, landmark and JPEG frames), then a
    short one with nothing but a ping. Waits until both are saved."""
    user_id = str(uuid.uuid4())
    token = posture_service.token(user_id)
    photo = jpeg(skimage.data.astronaut())
    rng = np.random.default_rng(7)
    landmark_frames = jpeg_frames = 0

    started = time.monotonic()
    async with open_stream(token) as stream:
        session_id = stream.ready["session_id"]
        for _ in range(3):  # photos first: landmarks found, but nothing to score against yet
            jpeg_frames += 1
            await stream.send(photo)
            result = await _answer(stream, jpeg_frames)
            assert result["reason"] is None and result["state"] == "uncalibrated", result
        await stream.send({"type": "calibrate", "action": "start"})
        assert (await stream.recv())["status"] == "started"
        states: list[str] = []
        while states[-5:] != ["good"] * 5:  # calibrating, then 5 frames scored as good
            assert time.monotonic() - started < CALIBRATION_S + 5, states[-3:]
            landmark_frames += 1
            pose = upright_pose(noise_px=0.5, rng=rng)
            await stream.send(landmarks_payload(pose, landmark_frames))
            states.append((await _answer(stream, landmark_frames))["state"])
            await asyncio.sleep(0.1)
        assert set(states) == {"uncalibrated", "good"}, states
        while states[-3:] != ["forward_head"] * 3:  # then a few seconds of a jutting head
            assert time.monotonic() - started < CALIBRATION_S + 8, states[-3:]
            landmark_frames += 1
            pose = forward_head_pose(6.0, noise_px=0.5, rng=rng)
            await stream.send(landmarks_payload(pose, landmark_frames))
            states.append((await _answer(stream, landmark_frames))["state"])
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.2)
    duration = time.monotonic() - started

    async with open_stream(token) as stream:
        short_id = stream.ready["session_id"]
        await stream.send({"type": "ping"})
        assert (await stream.recv())["type"] == "pong"

    async with httpx.AsyncClient(base_url=posture_service.http_url, timeout=5) as client:
        deadline = time.monotonic() + 5
        while True:  # the server saves a session as it ends, after the socket closed
            items = (await _sessions(client, token)).json()["items"]
            if len(items) == 2:
                break
            assert time.monotonic() < deadline, items
            await asyncio.sleep(0.05)
    return {
        "user_id": user_id,
        "token": token,
        "session_id": session_id,
        "short_id": short_id,
        "duration": duration,
        "frames": landmark_frames + jpeg_frames,
        "jpeg": photo,
    }


@pytest.fixture
async def client(posture_service):
    async with httpx.AsyncClient(base_url=posture_service.http_url, timeout=5) as client:
        yield client


async def test_sessions_list_the_users_sessions_newest_first(history, client):
    response = await _sessions(client, history["token"])
    assert response.status_code == 200
    body = response.json()
    assert body["next_cursor"] is None
    short, session = body["items"]
    assert (short["session_id"], session["session_id"]) == (
        history["short_id"],
        history["session_id"],
    )

    print(f"\nsession: {json.dumps(session)}")
    assert session["setup"] == "default"
    assert session["frames"] == history["frames"]
    assert session["dropped_frames"] == 0 and session["alerts"] == 0
    # Time in each state adds up to the session's duration, which is the connection's.
    assert abs(sum(session["state_seconds"].values()) - session["duration_s"]) < 0.2
    assert abs(session["duration_s"] - history["duration"]) < 1.0
    seconds = session["state_seconds"]
    assert CALIBRATION_S - 0.2 < seconds["uncalibrated"] < CALIBRATION_S + 1.5
    assert seconds["good"] > 0.4 and seconds["forward_head"] > 0.4
    assert seconds["looking_down"] == seconds["away"] == seconds["paused"] == 0
    assert session["longest_good_streak_s"] == pytest.approx(seconds["good"], abs=0.1)
    assert session["timeline"] and all(0 < p["score"] < 1 for p in session["timeline"])
    started = datetime.fromisoformat(session["started_at"])
    ended = datetime.fromisoformat(session["ended_at"])
    assert abs((ended - started).total_seconds() - session["duration_s"]) < 1.0
    assert abs(datetime.now(UTC) - ended) < timedelta(minutes=1)

    assert short["frames"] == 0 and short["duration_s"] < 1.0
    assert datetime.fromisoformat(short["started_at"]) > started + timedelta(seconds=CALIBRATION_S)

    page = (await _sessions(client, history["token"], limit=1)).json()
    assert [i["session_id"] for i in page["items"]] == [history["short_id"]]
    assert page["next_cursor"] is not None
    page = (await _sessions(client, history["token"], limit=1, cursor=page["next_cursor"])).json()
    assert [i["session_id"] for i in page["items"]] == [history["session_id"]]
    assert page["next_cursor"] is None


async def test_another_user_sees_nothing(history, client, posture_service):
    response = await _sessions(client, posture_service.token())
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}
    response = await client.get(
        "/v1/posture/summary/daily",
        params={"date": date.today().isoformat()},
        headers={"Authorization": f"Bearer {posture_service.token()}"},
    )
    assert response.json()["sessions"] == 0 and response.json()["good_ratio"] is None


@pytest.mark.parametrize(
    "path", ["/v1/posture/sessions", "/v1/posture/summary/daily?date=2024-01-01"]
)
@pytest.mark.parametrize("auth", ["missing", "not_bearer", "garbage", "expired"])
async def test_history_needs_a_valid_token(path, auth, client, posture_service):
    headers = {
        "missing": {},
        "not_bearer": {"Authorization": f"Basic {posture_service.token()}"},
        "garbage": {"Authorization": "Bearer nope"},
        "expired": {"Authorization": f"Bearer {posture_service.token(ttl_s=-60)}"},
    }[auth]
    response = await client.get(path, headers=headers)
    assert response.status_code == 401
    code = {"missing": "token_missing", "not_bearer": "token_missing", "expired": "token_expired"}
    assert response.json()["error"]["code"] == code.get(auth, "token_invalid")
    assert set(response.json()) == {"error"} and response.json()["error"]["message"]


async def test_daily_summary_aggregates_the_days_sessions(history, client):
    headers = {"Authorization": f"Bearer {history['token']}"}
    items = (await _sessions(client, history["token"])).json()["items"]
    day = datetime.fromisoformat(items[1]["started_at"]).date()
    if any(datetime.fromisoformat(i["started_at"]).date() != day for i in items):
        pytest.skip("the sessions straddle midnight UTC")
    response = await client.get("/v1/posture/summary/daily", params={"date": day}, headers=headers)
    assert response.status_code == 200
    summary = response.json()
    print(f"\ndaily: {json.dumps(summary)}")
    assert summary["date"] == day.isoformat() and summary["sessions"] == 2
    assert summary["total_s"] == pytest.approx(sum(i["duration_s"] for i in items), abs=0.2)
    for state in ("good", "forward_head", "uncalibrated"):
        expected = sum(i["state_seconds"][state] for i in items)
        assert summary["state_seconds"][state] == pytest.approx(expected, abs=0.2)
    # The good share of the time that was scored: calibration is neither good nor bad.
    good, bad = (items[1]["state_seconds"][k] for k in ("good", "forward_head"))
    assert summary["good_ratio"] == pytest.approx(good / (good + bad), abs=0.01)
    assert 0.2 < summary["good_ratio"] < 0.8 and summary["alerts"] == 0
    assert summary["longest_good_streak_s"] == pytest.approx(
        items[1]["longest_good_streak_s"], abs=0.1
    )

    # The day before has nothing; so has the same day in a time zone 14 hours ahead when the
    # sessions ran in the afternoon UTC, etc. - just check the window moves with the offset.
    other = await client.get(
        "/v1/posture/summary/daily", params={"date": day - timedelta(days=1)}, headers=headers
    )
    assert other.status_code == 200 and other.json()["sessions"] == 0
    assert other.json()["state_seconds"] == {} and other.json()["total_s"] == 0


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"date": "2024-13-45"},
        {"date": "yesterday"},
        {"date": "2024-01-01", "utc_offset_min": 100000},
    ],
)
async def test_daily_summary_rejects_bad_dates(params, client, posture_service):
    response = await client.get(
        "/v1/posture/summary/daily",
        params=params,
        headers={"Authorization": f"Bearer {posture_service.token()}"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request", response.json()


@pytest.mark.parametrize(
    ("utc_offset_min", "local_midnight_utc"),
    [
        (540, "2024-03-09T15:00:00"),  # Seoul
        (-300, "2024-03-10T05:00:00"),  # New York in winter
        (330, "2024-03-09T18:30:00"),  # India, half an hour off
        (840, "2024-03-09T10:00:00"),  # Kiribati, the first to start a day
        (-720, "2024-03-10T12:00:00"),  # the last
        (0, "2024-03-10T00:00:00"),
    ],
)
async def test_a_local_day_holds_the_sessions_started_between_its_midnights(
    utc_offset_min, local_midnight_utc, client, posture_service
):
    user_id = str(uuid.uuid4())
    token = posture_service.token(user_id)
    midnight = datetime.fromisoformat(local_midnight_utc).replace(tzinfo=UTC)
    second, day = timedelta(seconds=1), timedelta(days=1)
    # Each session's duration names it: the sums show which landed on which local day.
    starts = {
        1.0: midnight - second,  # the local day before
        10.0: midnight,
        100.0: midnight + day - second,
        1000.0: midnight + day,  # the local day after
    }
    records = []
    for duration_s, started_at in starts.items():
        record = _record(user_id, started_at)
        record.duration_s = duration_s
        records.append(record)
    await _add_sessions(posture_service.database_url, records)

    totals = []
    for local_day in ("2024-03-09", "2024-03-10", "2024-03-11"):
        response = await client.get(
            "/v1/posture/summary/daily",
            params={"date": local_day, "utc_offset_min": utc_offset_min},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["date"] == local_day
        totals.append((response.json()["sessions"], response.json()["total_s"]))
    assert totals == [(1, 1.0), (2, 110.0), (1, 1000.0)]


@pytest.mark.parametrize("utc_offset_min", [-721, 841, 1440, -100000])
async def test_a_utc_offset_out_of_range_is_422_in_the_error_shape(
    utc_offset_min, client, posture_service
):
    response = await client.get(
        "/v1/posture/summary/daily",
        params={"date": "2024-03-10", "utc_offset_min": utc_offset_min},
        headers={"Authorization": f"Bearer {posture_service.token()}"},
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) >= {"code", "message"}, body
    assert body["error"]["code"] == "invalid_request" and body["error"]["message"], body


@pytest.mark.parametrize("limit", [0, 1000])
async def test_sessions_rejects_a_limit_out_of_range(limit, client, posture_service):
    response = await _sessions(client, posture_service.token(), limit=limit)
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_request"


def _cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "-1",
        "abc",
        "1",  # an offset, as this endpoint once handed out
        "%%%",
        _cursor(["2024-01-01T00:00:00+00:00"]),  # too few values
        _cursor(["2024-01-01T00:00:00", str(uuid.uuid4())]),  # no time zone
        _cursor([1, str(uuid.uuid4())]),
        _cursor({"started_at": "2024-01-01T00:00:00+00:00"}),
        "A" * 600,
    ],
)
async def test_a_bad_paging_cursor_is_400_invalid_cursor(cursor, client, posture_service):
    response = await _sessions(client, posture_service.token(), cursor=cursor)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_cursor"


async def _add_sessions(database_url: str, records: list[Session]) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(Session),
                [{c.name: getattr(r, c.key) for c in Session.__table__.columns} for r in records],
            )
    finally:
        await engine.dispose()


def _record(user_id: str, started_at: datetime) -> Session:
    return Session(
        id=str(uuid.uuid4()),
        user_id=user_id,
        setup="default",
        started_at=started_at,
        ended_at=started_at + timedelta(minutes=1),
        duration_s=60.0,
        state_seconds={"good": 60.0},
        alerts=0,
        longest_good_streak_s=60.0,
        timeline=[],
        frames=0,
        dropped_frames=0,
    )


async def test_walking_session_pages_returns_each_session_exactly_once(client, posture_service):
    user_id = str(uuid.uuid4())
    token = posture_service.token(user_id)
    base = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    # Several sessions share a start time, so the pages must break ties (by id).
    starts = [base - timedelta(minutes=m) for m in (0, 0, 0, 5, 5, 9, 12, 12, 12, 12, 30)]
    records = [_record(user_id, t) for t in starts]
    await _add_sessions(posture_service.database_url, records)
    newest_first = [r.id for r in sorted(records, key=lambda r: (r.started_at, r.id), reverse=True)]

    seen: list[str] = []
    cursor = None
    for page_number in range(20):
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        response = await _sessions(client, token, **params)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [item["session_id"] for item in body["items"]]
        if page_number == 0:
            # A session that starts while someone pages comes before the cursor: later pages
            # neither repeat nor skip anything because of it.
            newer = _record(user_id, base + timedelta(minutes=1))
            await _add_sessions(posture_service.database_url, [newer])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == newest_first
    assert len(set(seen)) == len(records)


async def test_a_deleted_users_token_is_refused(client, posture_service):
    user_id = str(uuid.uuid4())
    token = posture_service.token(user_id)
    assert (await _sessions(client, token)).status_code == 200
    posture_service.delete_user(user_id)
    response = await _sessions(client, token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_invalid"


async def test_a_disabled_users_token_is_refused(client, posture_service):
    user_id = str(uuid.uuid4())
    token = posture_service.token(user_id)
    assert (await _sessions(client, token)).status_code == 200
    posture_service.disable_user(user_id)
    response = await client.get(
        "/v1/posture/summary/daily",
        params={"date": "2024-01-01"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "account_disabled"
    response = await _sessions(client, token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "account_disabled"


# -- no frame is ever written anywhere ----------------------------------------------------------


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def _looks_like_an_image(data: bytes) -> bool:
    return any(magic in data for magic in IMAGE_MAGIC)


def test_the_schema_has_no_place_for_pixels():
    for table in PostureBase.metadata.tables.values():
        for column in table.columns:
            assert not isinstance(column.type, LargeBinary), (table.name, column.name)


async def test_no_frame_is_written_anywhere(history, posture_service):
    # The service's working directory and TMPDIR: nothing was written there at all.
    written = _files(posture_service.workdir)
    assert [p for p in written if _looks_like_an_image(p.read_bytes())] == []
    assert written == [], written
    # Its log says what happened, never what was seen.
    assert not _looks_like_an_image(posture_service.log_path.read_bytes())

    # The database rows hold statistics only: numbers, short strings, small JSON.
    engine = create_engine(posture_service.database_url)
    try:
        async with engine.connect() as connection:
            rows = []
            for model in (Session, Calibration):
                query = select(model.__table__).where(model.user_id == history["user_id"])
                rows += [dict(r._mapping) for r in (await connection.execute(query)).all()]
    finally:
        await engine.dispose()
    assert len(rows) == 3  # two sessions, one calibration
    for row in rows:
        for name, value in row.items():
            assert not isinstance(value, bytes | bytearray | memoryview), name
            if isinstance(value, str):
                assert len(value) <= 40, (name, value)
        encoded = json.dumps(row, default=str)
        assert len(encoded) < 4000, encoded[:200]
        assert not _looks_like_an_image(encoded.encode())

    # On SQLite, the whole database (and its write-ahead log) has no image bytes in it.
    if posture_service.database_url.startswith("sqlite"):
        folder = Path(posture_service.database_url.split("///", 1)[1]).parent
        for path in _files(folder):
            data = path.read_bytes()
            assert history["jpeg"][600:700] not in data
            assert not _looks_like_an_image(data), path
