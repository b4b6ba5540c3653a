"""`WS /v1/posture/stream`: frames or landmarks in, a posture result per frame out.

Authentication as on the task socket: a Bearer header on the handshake, or a first text
frame {"type": "auth", "token": …}; nothing is sent before a valid token, and a missing or
bad one closes with 1008. A bad message gets an error frame and the session goes on.
"""

import asyncio
import contextlib
import json
import logging
import time
import uuid

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import TypeAdapter, ValidationError

from saekdam_backbone.tokens import InvalidToken, user_id_from_token
from saekdam_contracts.posture import (
    AuthMessage,
    CalibrateMessage,
    ClientMessage,
    LandmarksMessage,
    SettingsMessage,
)

from ..calibration import Baseline, CalibrationConfig, CalibrationFailed
from ..db.models import Session
from ..estimation import EstimatorPool, LatestFrameSlot, SlotClosed
from ..frames import FrameRejected, probe_frame
from ..metrics import ALERTS, FRAME_SECONDS, FRAMES, SESSIONS
from ..monitor import MonitorConfig, Observation, PostureMonitor
from ..policy import PolicyConfig
from ..pose import Pose
from ..settings import PostureSettings
from ..store import PostureStore

router = APIRouter()
log = logging.getLogger(__name__)

POLICY_VIOLATION = 1008
DEFAULT_SETUP = "default"
_client_message = TypeAdapter(ClientMessage)


class Closing(Exception):
    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code, self.reason = code, reason


async def _authenticate(ws: WebSocket, settings: PostureSettings) -> str:
    scheme, _, token = ws.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        try:
            text = await asyncio.wait_for(ws.receive_text(), settings.ws_auth_timeout_s)
            token = AuthMessage.model_validate_json(text).token
        except (TimeoutError, ValidationError, KeyError, ValueError) as exc:
            raise Closing(POLICY_VIOLATION, "authentication required") from exc
    try:
        return user_id_from_token(token.strip(), settings.jwt_secret.get_secret_value())
    except InvalidToken as exc:
        raise Closing(POLICY_VIOLATION, exc.code) from exc


class RateLimit:
    """A token bucket: `rate` messages a second, bursts up to one second's worth."""

    def __init__(self, rate: float):
        self.rate, self.tokens, self.at = rate, rate, time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class PostureSession:
    """One client's stream: the monitor, the latest-frame slot and the session's record."""

    def __init__(self, ws: WebSocket, user_id: str, state):
        self.ws, self.user_id = ws, user_id
        self.settings: PostureSettings = state.settings
        self.store: PostureStore = state.store
        self.pool: EstimatorPool = state.pool
        self.slot: LatestFrameSlot[tuple[int, bytes, float]] = LatestFrameSlot()
        self.limit = RateLimit(self.settings.max_messages_per_s)
        self.setup = DEFAULT_SETUP
        self.frames = 0  # binary frames received (their ids)
        self.landmark_frames = 0  # landmark messages received
        self._send_lock = asyncio.Lock()
        config = MonitorConfig(
            calibration=CalibrationConfig(duration_s=self.settings.calibration_s),
            policy=PolicyConfig(
                persistence_s=self.settings.alert_persistence_s,
                cooldown_s=self.settings.alert_cooldown_s,
            ),
            sensitivity=self.settings.default_sensitivity,
        )
        self.monitor = PostureMonitor(None, config)
        # started_at now: the row is first written when the session is first saved.
        self.record = Session(
            id=str(uuid.uuid4()), user_id=user_id, setup=self.setup, started_at=_utcnow()
        )

    async def run(self) -> None:
        await self._load_baseline(self.setup)
        await self.send(
            type="ready",
            session_id=self.record.id,
            setup=self.setup,
            calibrated=self.monitor.baseline is not None,
            calibration_s=self.settings.calibration_s,
            limits={
                "max_frame_bytes": self.settings.max_frame_bytes,
                "max_frame_side": self.settings.max_frame_side,
                "max_messages_per_s": self.settings.max_messages_per_s,
            },
        )
        tasks = [
            asyncio.create_task(self._receive()),
            asyncio.create_task(self._consume_frames()),
            asyncio.create_task(self._save_periodically()),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    raise task.exception()
        finally:
            self.slot.close(discard=True)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                    await task
            await self._save()

    async def send(self, **message) -> None:
        async with self._send_lock:
            await self.ws.send_text(json.dumps(message, default=_jsonable))

    async def error(self, code: str, message: str, **extra) -> None:
        await self.send(type="error", error={"code": code, "message": message}, **extra)

    # -- incoming ----------------------------------------------------------------------

    async def _receive(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes") is not None:
                await self._frame(message["bytes"])
            else:
                await self._text(message.get("text") or "")

    async def _frame(self, data: bytes) -> None:
        self.frames += 1
        frame_id = self.frames
        try:
            # The header only, on the loop: a bad frame is answered at once, never queued.
            probe_frame(
                data,
                max_bytes=self.settings.max_frame_bytes,
                max_pixels=self.settings.max_frame_pixels,
                max_side=self.settings.max_frame_side,
            )
        except FrameRejected as rejected:
            FRAMES.labels("rejected").inc()
            await self.error(rejected.code, rejected.message, frame=frame_id)
            return
        FRAMES.labels("received").inc()
        self.slot.put((frame_id, data, time.monotonic()))

    async def _text(self, text: str) -> None:
        if not self.limit.allow():
            await self.error(
                "rate_limited", f"at most {self.settings.max_messages_per_s:g} messages a second"
            )
            return
        try:
            message = _client_message.validate_json(text)
        except ValidationError as exc:
            await self._invalid(text, exc)
            return
        now = time.monotonic()
        if isinstance(message, LandmarksMessage):
            self.landmark_frames += 1
            observation = self.monitor.observe(now, Pose.from_message(message))
            await self._answer(observation, frame=message.frame_id, source="landmarks", arrived=now)
        elif isinstance(message, CalibrateMessage):
            await self._calibrate(message, now)
        elif isinstance(message, SettingsMessage):
            await self._settings(message)
        elif message.type == "pause":
            self.monitor.pause(now)
            await self.send(type="status", state="paused")
        elif message.type == "resume":
            self.monitor.resume(now)
            await self.send(type="status", state="resumed")
        else:
            await self.send(type="pong")

    async def _invalid(self, text: str, exc: ValidationError) -> None:
        try:
            kind = json.loads(text).get("type")
        except (ValueError, AttributeError):
            await self.error("invalid_json", "a text message must be a JSON object")
            return
        if any(e["type"] == "union_tag_invalid" for e in exc.errors()):
            await self.error("unknown_message", f"unknown message type {kind!r}")
            return
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'][1:])) or 'message'}: {e['msg']}" for e in exc.errors()[:5]
        )
        await self.error("invalid_message", f"{kind or 'message'}: {problems}")

    async def _calibrate(self, message: CalibrateMessage, now: float) -> None:
        if message.action == "start":
            if message.setup is not None and message.setup != self.setup:
                await self._load_baseline(message.setup)
            self.monitor.start_calibration(now)
            await self.send(
                type="calibration",
                status="started",
                setup=self.setup,
                duration_s=self.settings.calibration_s,
            )
        elif message.action == "cancel":
            self.monitor.cancel_calibration()
            await self.send(type="calibration", status="cancelled", setup=self.setup)
        elif not self.monitor.calibrating:
            await self.error("calibration_not_started", "send {calibrate, start} first")
        else:
            await self._finish_calibration(now)

    async def _finish_calibration(self, now: float) -> None:
        try:
            baseline = self.monitor.finish_calibration(now)
        except CalibrationFailed as failed:
            await self.send(
                type="calibration",
                status="failed",
                setup=self.setup,
                reason=failed.reason,
                message=failed.detail,
            )
            return
        await self.store.save_baseline(self.user_id, self.setup, baseline.to_dict())
        await self.send(type="calibration", status="completed", setup=self.setup)

    async def _settings(self, message: SettingsMessage) -> None:
        if message.sensitivity is not None:
            self.monitor.set_sensitivity(message.sensitivity)
        if message.setup is not None and message.setup != self.setup:
            await self._load_baseline(message.setup)
        await self.send(
            type="settings",
            sensitivity=self.monitor.sensitivity,
            setup=self.setup,
            calibrated=self.monitor.baseline is not None,
        )

    async def _load_baseline(self, setup: str) -> None:
        stored = await self.store.baseline(self.user_id, setup)
        self.setup = self.record.setup = setup
        self.monitor.set_baseline(Baseline.from_dict(stored) if stored else None)

    # -- frames ------------------------------------------------------------------------

    async def _consume_frames(self) -> None:
        while True:
            try:
                frame_id, data, arrived = await self.slot.get()
            except SlotClosed:
                return
            try:
                result = await self.pool.estimate_frame(data)
            except FrameRejected as rejected:
                FRAMES.labels("rejected").inc()
                await self.error(rejected.code, rejected.message, frame=frame_id)
                continue
            pose = Pose.from_message(result.to_message()) if result is not None else None
            observation = self.monitor.observe(time.monotonic(), pose)
            FRAMES.labels("processed").inc()
            await self._answer(observation, frame=frame_id, source="frame", arrived=arrived)

    async def _answer(
        self, observation: Observation, *, frame, source: str, arrived: float
    ) -> None:
        result = observation.as_dict()
        alert = result.pop("alert")
        dropped = self.slot.take_dropped()
        if dropped:
            FRAMES.labels("dropped").inc(dropped)
        latency = time.monotonic() - arrived
        FRAME_SECONDS.observe(latency)
        await self.send(
            type="result",
            frame=frame,
            source=source,
            dropped=dropped,
            latency_ms=round(latency * 1000, 1),
            **result,
        )
        if alert is not None:
            ALERTS.labels(str(alert["level"])).inc()
            # The monitor's clock is monotonic and means nothing to a client: send wall time.
            alert["t"] = time.time()
            await self.send(type="alert", **alert)
        calibration = observation.calibration
        if calibration is not None and calibration.get("ready") and self.monitor.calibrating:
            # Long enough and enough frames: finish without waiting for the client to ask.
            await self._finish_calibration(time.monotonic())

    # -- history -----------------------------------------------------------------------

    async def _save_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.settings.save_every_s)
            await self._save()

    async def _save(self) -> None:
        stats = self.monitor.stats(time.monotonic())
        record = self.record
        record.duration_s = stats["elapsed_s"]
        record.state_seconds = stats["time_s"]
        record.alerts = stats["alerts"]
        record.longest_good_streak_s = stats["longest_good_streak_s"]
        record.timeline = stats["timeline"]
        record.frames = self.frames + self.landmark_frames
        record.dropped_frames = self.slot.dropped
        record.ended_at = _utcnow()
        try:
            await self.store.save_session(record)
        except Exception:  # noqa: BLE001 - history is best effort; the stream goes on
            log.warning("could not save posture session", exc_info=True)


def _utcnow():
    from saekdam_backbone.db import utcnow

    return utcnow()


def _jsonable(value):
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)


@router.websocket("/v1/posture/stream")
async def stream(ws: WebSocket) -> None:
    settings: PostureSettings = ws.app.state.settings
    origin = ws.headers.get("origin")
    if origin is not None and origin not in settings.allowed_origins:
        await ws.close(POLICY_VIOLATION, "origin not allowed")
        return
    await ws.accept()
    SESSIONS.inc()
    try:
        user_id = await _authenticate(ws, settings)
        await PostureSession(ws, user_id, ws.app.state).run()
    except Closing as closing:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await ws.close(closing.code, closing.reason)
    except WebSocketDisconnect:
        pass
    finally:
        SESSIONS.dec()
