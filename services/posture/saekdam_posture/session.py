"""One client's posture stream, after authentication: frames or landmarks in, a result per
frame out. A bad message gets an error frame and the session goes on; whatever ends the
session, what it measured is saved."""

import asyncio
import json
import logging
import time
import uuid

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import TypeAdapter, ValidationError

from saekdam_backbone.db import utcnow
from saekdam_contracts.posture import (
    CalibrateMessage,
    ClientMessage,
    LandmarksMessage,
    SettingsMessage,
)
from saekdam_web.messages import InvalidMessage, parse_json_message
from saekdam_web.websockets import INTERNAL_ERROR, Closing, send_text_within

from .calibration import Baseline, CalibrationConfig, CalibrationFailed
from .db.models import Session
from .estimation import EstimatorPool, LatestFrameSlot, SlotClosed
from .frames import FrameRejected, probe_frame
from .metrics import ALERTS, FRAME_SECONDS, FRAMES
from .monitor import MonitorConfig, Observation, PostureMonitor
from .policy import PolicyConfig
from .pose import Pose
from .settings import PostureSettings
from .store import PostureStore
from .throttle import MessageRate

log = logging.getLogger(__name__)

DEFAULT_SETUP = "default"
_client_message = TypeAdapter(ClientMessage)


class PostureSession:
    """One client's stream: the monitor, the latest-frame slot and the session's record."""

    def __init__(self, ws: WebSocket, user_id: str, state):
        self.ws, self.user_id = ws, user_id
        self.settings: PostureSettings = state.settings
        self.store: PostureStore = state.store
        self.pool: EstimatorPool = state.pool
        self.slot: LatestFrameSlot[tuple[int, bytes, float]] = LatestFrameSlot()
        self.message_rate = MessageRate(self.settings.max_messages_per_s)
        self.frame_rate = MessageRate(self.settings.max_frames_per_s)
        self.setup = DEFAULT_SETUP
        self.frames = 0  # binary frames received (their ids)
        self.stale = 0  # frames dropped for waiting too long, not yet reported
        self.stale_total = 0  # all of them, for the session's record
        self.landmark_frames = 0  # landmark messages received
        self._send_lock = asyncio.Lock()
        config = MonitorConfig(
            calibration=CalibrationConfig(duration_s=self.settings.calibration_s),
            policy=PolicyConfig(
                enter_threshold=self.settings.alert_enter_threshold,
                exit_threshold=self.settings.alert_exit_threshold,
                persistence_s=self.settings.alert_persistence_s,
                cooldown_s=self.settings.alert_cooldown_s,
                max_level=self.settings.alert_max_level,
                recovery_s=self.settings.alert_recovery_s,
            ),
            sensitivity=self.settings.default_sensitivity,
        )
        self.monitor = PostureMonitor(None, config)
        # started_at now: the row is first written when the session is first saved.
        self.record = Session(
            id=str(uuid.uuid4()), user_id=user_id, setup=self.setup, started_at=utcnow()
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
        finally:
            self.slot.close(discard=True)
            for task in tasks:
                task.cancel()
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            # Whatever ended the session, what it measured is kept.
            await self._save()
        for outcome in outcomes:
            if isinstance(outcome, Closing):
                raise outcome
            if isinstance(outcome, Exception) and not isinstance(
                outcome, WebSocketDisconnect | RuntimeError
            ):
                log.error("posture session failed", exc_info=outcome)
                raise Closing(INTERNAL_ERROR, "internal error")

    async def send(self, **message) -> None:
        """One message out; a client that does not take it within `send_timeout_s` is
        dropped (Closing 1013, counted by the route)."""
        text = json.dumps(message, default=_jsonable)
        async with self._send_lock:
            await send_text_within(self.ws, text, self.settings.send_timeout_s)

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
        if not self.frame_rate.allow():
            FRAMES.labels("rate_limited").inc()
            await self.error(
                "rate_limited",
                f"at most {self.settings.max_frames_per_s:g} frames a second",
                frame=frame_id,
            )
            return
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
        if not self.message_rate.allow():
            await self.error(
                "rate_limited", f"at most {self.settings.max_messages_per_s:g} messages a second"
            )
            return
        try:  # bounded: too large or too deep is refused before parsing
            parsed = parse_json_message(text, self.settings.max_text_bytes)
        except InvalidMessage as invalid:
            await self.error(invalid.code, invalid.message)
            return
        if not isinstance(parsed, dict):
            await self.error("invalid_json", "a text message must be a JSON object")
            return
        try:
            message = _client_message.validate_python(parsed)
        except ValidationError as exc:
            await self._invalid(exc)
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

    async def _invalid(self, exc: ValidationError) -> None:
        errors = exc.errors()
        if tags := [e for e in errors if e["type"] == "union_tag_invalid"]:
            tag = tags[0].get("ctx", {}).get("tag")
            await self.error("unknown_message", f"unknown message type {tag!r}")
        elif any(e["type"] == "union_tag_not_found" for e in errors):
            await self.error("invalid_message", "a message needs a `type`")
        else:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'][1:])) or 'message'}: {e['msg']}" for e in errors[:5]
            )
            await self.error("invalid_message", problems)

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
        try:
            await self.store.save_baseline(self.user_id, self.setup, baseline.to_dict())
        except Exception:  # noqa: BLE001 - the session keeps the baseline; storing it failed
            log.warning("could not store a posture baseline", exc_info=True)
            await self.send(type="calibration", status="completed", setup=self.setup, stored=False)
            return
        await self.send(type="calibration", status="completed", setup=self.setup, stored=True)

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
        self.setup = self.record.setup = setup
        try:
            stored = await self.store.baseline(self.user_id, setup)
            baseline = Baseline.from_dict(stored) if stored else None
        except (ValueError, KeyError, TypeError):
            # An unreadable (older) baseline must not lock the user out: calibrate again.
            log.warning("stored posture baseline unreadable; treating as uncalibrated")
            baseline = None
        self.monitor.set_baseline(baseline)

    # -- frames ------------------------------------------------------------------------

    async def _consume_frames(self) -> None:
        while True:
            try:
                frame_id, data, arrived = await self.slot.get()
            except SlotClosed:
                return
            if time.monotonic() - arrived > self.settings.max_frame_age_s:
                self.stale += 1  # waited too long for an estimator: never processed late
                self.stale_total += 1
                continue
            if self.monitor.paused:  # nothing to look at while paused
                observation = self.monitor.observe(arrived, None)
            else:
                try:
                    result = await self.pool.estimate_frame(data)
                except FrameRejected as rejected:
                    FRAMES.labels("rejected").inc()
                    await self.error(rejected.code, rejected.message, frame=frame_id)
                    continue
                except Exception:  # noqa: BLE001 - one bad frame must not end the session
                    log.warning("pose estimation failed", exc_info=True)
                    await self.error(
                        "frame_failed", "this frame could not be processed", frame=frame_id
                    )
                    continue
                pose = Pose.from_message(result.to_message()) if result is not None else None
                # The frame's arrival time, not now: queueing must not distort the smoothing.
                observation = self.monitor.observe(arrived, pose)
            FRAMES.labels("processed").inc()
            await self._answer(observation, frame=frame_id, source="frame", arrived=arrived)

    async def _answer(
        self, observation: Observation, *, frame, source: str, arrived: float
    ) -> None:
        result = observation.as_dict()
        alert = result.pop("alert")
        dropped = self.slot.take_dropped() + self.stale
        self.stale = 0
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
        done = calibration is not None and (calibration.get("ready") or calibration.get("expired"))
        if done and self.monitor.calibrating:
            # Long enough and enough frames, or too long without them: finish (or fail)
            # without waiting for the client to ask.
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
        record.dropped_frames = self.slot.dropped + self.stale_total
        record.ended_at = utcnow()
        try:
            await self.store.save_session(record)
        except Exception:  # noqa: BLE001 - history is best effort; the stream goes on
            log.warning("could not save posture session", exc_info=True)


def _jsonable(value):
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)
