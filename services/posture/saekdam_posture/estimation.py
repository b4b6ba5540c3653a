"""Pose estimation: MediaPipe Pose, loaded once per worker thread, run off the event loop.

The server produces exactly the landmark schema on-device clients send
(`saekdam_contracts.posture.LandmarksMessage`: 33 landmarks with x and y normalised to the
frame, z, visibility, plus the image size), so everything downstream treats a server-side
estimate and a client's landmarks identically.

Mode choice: **static_image_mode=True**, one shared pool of worker threads.
MediaPipe's tracking mode (static_image_mode=False) is faster (measured here: ~11-12 ms against
~18 ms a 640x480 frame on one core), because it skips the person detector and crops around the
previous frame's landmarks - but that state lives in the graph instance, together with a landmark
smoothing filter that assumes 30 fps (the Python solution API fakes 33 ms timestamps). A pooled
instance serving several sessions would crop user B's frame around user A's pose and blend their
landmarks, and even for a single session the filter's dynamics would be wrong at 1-10 fps. One
tracking graph per session would fix that at the cost of one model per connection (memory and
unbounded concurrency). Static mode makes each estimate a pure function of its frame: any worker
can serve any session, results are deterministic (calibration and tests reproduce), and temporal
smoothing happens where it belongs, in the scoring stage's One-Euro filter, with real timestamps.
At ~18 ms a frame, one core serves ~55 frames/s, i.e. 5-50 sessions at 1-10 fps.

Only `model_complexity=1` works offline (its model ships in the mediapipe 0.10.14-0.10.21 wheel;
0 and 2 are downloaded on first use), so it is fixed.

Threading: a MediaPipe graph must not be used by two threads at once, so each worker thread of
`EstimatorPool` lazily builds its own `PoseEstimator` the first time it runs a job and keeps it
for the life of the pool (thread-local): N workers means at most N models per process.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
from mediapipe.python.solutions import pose as mp_pose

from saekdam_contracts.posture import (
    POSE_LANDMARK_COUNT,
    ImageSize,
    Landmark,
    LandmarksMessage,
)
from saekdam_posture.frames import FrameLimits, decode_frame

MODEL_COMPLEXITY = 1  # the only one whose model ships inside the wheel
DEFAULT_MIN_DETECTION_CONFIDENCE = 0.5
DEFAULT_WORKERS = 1
MAX_IMAGE_SIDE = 8192  # ImageSize's bound in the contract

# Landmark names in MediaPipe's index order (NOSE = 0 ... RIGHT_FOOT_INDEX = 32).
LANDMARK_NAMES: tuple[str, ...] = tuple(lm.name.lower() for lm in mp_pose.PoseLandmark)
LANDMARK_INDEX: dict[str, int] = {name: i for i, name in enumerate(LANDMARK_NAMES)}
assert len(LANDMARK_NAMES) == POSE_LANDMARK_COUNT

_R = TypeVar("_R")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PoseResult:
    """One frame's pose, in the contract's schema (duck-compatible with `LandmarksMessage`:
    `.image.width`, `.image.height`, `.landmarks[i].x/.y/.z/.visibility`).

    `image` is the size of the image the landmarks were estimated on (after any downscaling;
    the aspect ratio is the original frame's). Values are clamped into the contract's bounds
    (MediaPipe extrapolates off-frame joints such as hips below a webcam's view beyond them).
    """

    image: ImageSize
    landmarks: tuple[Landmark, ...]
    inference_ms: float = 0.0

    def to_message(self, frame_id: int | None = None) -> LandmarksMessage:
        return LandmarksMessage(
            type="landmarks", frame_id=frame_id, image=self.image, landmarks=list(self.landmarks)
        )

    def landmark(self, name: str) -> Landmark:
        """A landmark by MediaPipe name, e.g. "nose", "left_ear", "right_shoulder"."""
        return self.landmarks[LANDMARK_INDEX[name]]


class PoseEstimator:
    """One MediaPipe Pose graph. Not for concurrent use: one per thread (see `EstimatorPool`);
    a lock serialises accidental concurrent calls rather than corrupting the graph."""

    def __init__(
        self,
        *,
        static_image_mode: bool = True,
        min_detection_confidence: float = DEFAULT_MIN_DETECTION_CONFIDENCE,
        min_tracking_confidence: float = 0.5,
    ) -> None:
        self.static_image_mode = static_image_mode
        self._lock = threading.Lock()
        self._pose = mp_pose.Pose(
            static_image_mode=static_image_mode,
            model_complexity=MODEL_COMPLEXITY,
            smooth_landmarks=not static_image_mode,
            enable_segmentation=False,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        self._closed = False

    def estimate(self, rgb: np.ndarray) -> PoseResult | None:
        """Landmarks of the most prominent person in an RGB uint8 (h, w, 3) image, or None."""
        if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8:
            raise ValueError("expected an RGB uint8 numpy array")
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected shape (h, w, 3), got {rgb.shape}")
        height, width = rgb.shape[:2]
        if not (0 < width <= MAX_IMAGE_SIDE and 0 < height <= MAX_IMAGE_SIDE):
            raise ValueError(f"image size {width}x{height} outside 1..{MAX_IMAGE_SIDE}")
        rgb = np.ascontiguousarray(rgb)
        with self._lock:
            if self._closed:
                raise RuntimeError("PoseEstimator is closed")
            started = time.perf_counter()
            results = self._pose.process(rgb)
            elapsed_ms = (time.perf_counter() - started) * 1000
        if results.pose_landmarks is None:
            return None
        landmarks = tuple(
            Landmark(
                x=_clamp(lm.x, -1.0, 2.0),
                y=_clamp(lm.y, -1.0, 2.0),
                z=_clamp(lm.z, -10.0, 10.0),
                visibility=_clamp(lm.visibility, 0.0, 1.0),
            )
            for lm in results.pose_landmarks.landmark
        )
        if len(landmarks) != POSE_LANDMARK_COUNT:  # pragma: no cover - MediaPipe's contract
            return None
        return PoseResult(ImageSize(width=width, height=height), landmarks, elapsed_ms)

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._pose.close()

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _clamp(value: float, low: float, high: float) -> float:
    if math.isnan(value):
        return 0.0 if low <= 0.0 <= high else low
    return min(max(float(value), low), high)


class EstimatorPool:
    """Pose estimation for the whole process: `workers` threads, one MediaPipe graph each.

    Create one at startup (`await pool.warmup()` to load the models before the first frame),
    share it across sessions, `close()`/`await aclose()` at shutdown. The `estimate*` coroutines
    never run MediaPipe or decoding on the event loop. Concurrency is bounded by `workers`; the
    executor's queue is bounded by the number of sessions, since each session's consumer (see
    `LatestFrameSlot`) awaits one estimate at a time.
    """

    def __init__(
        self,
        workers: int = DEFAULT_WORKERS,
        *,
        min_detection_confidence: float = DEFAULT_MIN_DETECTION_CONFIDENCE,
        frame_limits: FrameLimits | None = None,
        estimator_factory: Callable[[], PoseEstimator] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self.frame_limits = frame_limits or FrameLimits()
        self._factory = estimator_factory or (
            lambda: PoseEstimator(
                static_image_mode=True, min_detection_confidence=min_detection_confidence
            )
        )
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pose")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._estimators: list[PoseEstimator] = []
        self._pending = 0
        self._closed = False

    # -- state -----------------------------------------------------------------------------

    @property
    def constructions(self) -> int:
        """How many MediaPipe graphs this pool has built (at most `workers`)."""
        with self._lock:
            return len(self._estimators)

    @property
    def pending(self) -> int:
        """Jobs submitted and not yet finished (queued or running)."""
        return self._pending

    @property
    def closed(self) -> bool:
        return self._closed

    # -- work ------------------------------------------------------------------------------

    async def estimate(self, rgb: np.ndarray) -> PoseResult | None:
        """`PoseEstimator.estimate` on a worker thread."""
        return await self._submit(self._estimate_sync, rgb)

    async def estimate_frame(self, data: bytes) -> PoseResult | None:
        """Decode a JPEG/WebP frame (with `frame_limits`) and estimate, both on a worker thread.

        Raises `FrameRejected` for a bad frame (check cheaply first with `probe_frame` on the
        loop, so bad frames are answered at once and never queued)."""
        return await self._submit(self._estimate_frame_sync, data)

    async def warmup(self) -> None:
        """Build every worker's graph and run it once, so the first real frame is not slow."""
        barrier = threading.Barrier(self.workers)
        blank = np.zeros((64, 64, 3), np.uint8)

        def job() -> None:
            estimator = self._thread_estimator()
            estimator.estimate(blank)
            # Hold this thread until all workers are busy, so each job lands on its own thread.
            try:
                barrier.wait(timeout=30)
            except threading.BrokenBarrierError:
                pass

        await asyncio.gather(*(self._submit(job) for _ in range(self.workers)))

    async def _submit(self, fn: Callable[..., _R], *args: object) -> _R:
        if self._closed:
            raise RuntimeError("EstimatorPool is closed")
        loop = asyncio.get_running_loop()
        self._pending += 1
        try:
            return await loop.run_in_executor(self._executor, fn, *args)
        finally:
            self._pending -= 1

    def _thread_estimator(self) -> PoseEstimator:
        estimator = getattr(self._local, "estimator", None)
        if estimator is None:
            estimator = self._factory()
            self._local.estimator = estimator
            with self._lock:
                self._estimators.append(estimator)
        return estimator

    def _estimate_sync(self, rgb: np.ndarray) -> PoseResult | None:
        return self._thread_estimator().estimate(rgb)

    def _estimate_frame_sync(self, data: bytes) -> PoseResult | None:
        limits = self.frame_limits
        rgb = decode_frame(
            data,
            max_bytes=limits.max_bytes,
            max_pixels=limits.max_pixels,
            max_side=limits.max_side,
            process_side=limits.process_side,
        )
        return self._thread_estimator().estimate(rgb)

    # -- shutdown --------------------------------------------------------------------------

    def close(self) -> None:
        """Refuse new work, cancel queued jobs, wait for running ones, free the graphs.
        Blocks for at most one running estimate; from async code prefer `aclose()`."""
        if self._closed:
            return
        self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            estimators, self._estimators = self._estimators, []
        for estimator in estimators:
            estimator.close()

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    async def __aenter__(self) -> EstimatorPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class SlotClosed(Exception):
    """Raised by `LatestFrameSlot.get()` once the slot is closed and empty."""


class LatestFrameSlot(Generic[T]):
    """One session's frame hand-off: latest frame wins.

    The receiving side `put()`s every frame as it arrives; a single consumer task loops on
    `await get()` (or `async for`) and processes one frame at a time. A frame still waiting when
    a newer one arrives is replaced and counted as dropped, so a flood is thinned to what the
    server can process and nothing is ever processed late. For use on one event loop (not
    thread-safe); `T` is whatever the route keeps per frame (bytes, frame id, arrival time...).
    Invariant: received == taken + dropped + (1 if an item is waiting else 0).
    """

    def __init__(self) -> None:
        self._item: T | None = None
        self._has_item = False
        self._event = asyncio.Event()
        self._closed = False
        self.received = 0
        self.taken = 0
        self.dropped = 0
        self._dropped_reported = 0

    def put(self, item: T) -> bool:
        """Offer a frame; returns True if it replaced (dropped) an unprocessed one.
        After `close()` the frame is dropped at once (and True returned)."""
        self.received += 1
        if self._closed:
            self.dropped += 1
            return True
        replaced = self._has_item
        if replaced:
            self.dropped += 1
        self._item = item
        self._has_item = True
        self._event.set()
        return replaced

    async def get(self) -> T:
        """The newest frame, waiting for one if needed; `SlotClosed` once closed and empty."""
        while not self._has_item:
            if self._closed:
                raise SlotClosed
            self._event.clear()
            await self._event.wait()
        return self._take()

    def get_nowait(self) -> T | None:
        """The newest frame if one is waiting, else None."""
        return self._take() if self._has_item else None

    def _take(self) -> T:
        item = self._item
        self._item = None
        self._has_item = False
        self.taken += 1
        return item  # type: ignore[return-value]

    def take_dropped(self) -> int:
        """Frames dropped since the previous call (for the next result message's `dropped`)."""
        new = self.dropped - self._dropped_reported
        self._dropped_reported = self.dropped
        return new

    @property
    def has_item(self) -> bool:
        return self._has_item

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self, *, discard: bool = False) -> None:
        """Stop accepting frames and wake the consumer. A waiting frame is still handed out by
        `get()` unless `discard` (then it counts as dropped)."""
        self._closed = True
        if discard and self._has_item:
            self._item = None
            self._has_item = False
            self.dropped += 1
        self._event.set()

    def __aiter__(self) -> LatestFrameSlot[T]:
        return self

    async def __anext__(self) -> T:
        try:
            return await self.get()
        except SlotClosed:
            raise StopAsyncIteration from None
