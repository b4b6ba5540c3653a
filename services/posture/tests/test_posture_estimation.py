"""Pose estimation on real photos (MediaPipe's bundled model), the pool, and latest-frame-wins."""

import asyncio
import io
import threading
import time

import cv2
import numpy as np
import pytest
import skimage.data
from matplotlib import cbook
from PIL import Image

from saekdam_contracts.posture import POSE_LANDMARK_COUNT, LandmarksMessage
from saekdam_posture import estimation
from saekdam_posture.estimation import (
    EstimatorPool,
    LatestFrameSlot,
    PoseEstimator,
    PoseResult,
    SlotClosed,
)
from saekdam_posture.frames import FrameRejected, decode_frame

KEY_POINTS = ("nose", "left_ear", "right_ear", "left_shoulder", "right_shoulder")


def encode(rgb: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, fmt, quality=90)
    return buf.getvalue()


def load_grace_hopper() -> np.ndarray:
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        return np.asarray(Image.open(f).convert("RGB"))


PHOTOS = {"astronaut": skimage.data.astronaut, "grace_hopper": load_grace_hopper}


@pytest.fixture(scope="module")
def estimator():
    with PoseEstimator() as est:
        yield est


def px(result: PoseResult, name: str) -> np.ndarray:
    lm = result.landmark(name)
    return np.array([lm.x * result.image.width, lm.y * result.image.height])


def geometry(result: PoseResult) -> dict[str, float]:
    """Head drop and face scale relative to shoulder width, in pixels (as features.py will)."""
    ls, rs = px(result, "left_shoulder"), px(result, "right_shoulder")
    shoulder_width = float(np.linalg.norm(ls - rs))
    shoulder_y = (ls[1] + rs[1]) / 2
    ear_y = (px(result, "left_ear")[1] + px(result, "right_ear")[1]) / 2
    eye_spacing = float(np.linalg.norm(px(result, "left_eye") - px(result, "right_eye")))
    ear_spacing = float(np.linalg.norm(px(result, "left_ear") - px(result, "right_ear")))
    return {
        "head_drop": (shoulder_y - ear_y) / shoulder_width,
        "eye_ratio": eye_spacing / shoulder_width,
        "ear_ratio": ear_spacing / shoulder_width,
        "shoulder_width_px": shoulder_width,
    }


# -- real photos ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
@pytest.mark.parametrize("photo", list(PHOTOS))
def test_landmarks_found_on_real_photos(photo, fmt, estimator):
    rgb = PHOTOS[photo]()
    result = estimator.estimate(decode_frame(encode(rgb, fmt)))
    assert result is not None
    assert len(result.landmarks) == POSE_LANDMARK_COUNT
    assert (result.image.width, result.image.height) == (rgb.shape[1], rgb.shape[0])
    for name in KEY_POINTS + ("left_eye", "right_eye"):
        assert result.landmark(name).visibility >= 0.9, name

    nose, left_ear, right_ear = px(result, "nose"), px(result, "left_ear"), px(result, "right_ear")
    left_sh, right_sh = px(result, "left_shoulder"), px(result, "right_shoulder")
    # Facing the camera (not mirrored): the subject's right is on the image's left.
    assert right_ear[0] < nose[0] < left_ear[0]
    assert right_sh[0] < nose[0] < left_sh[0]
    # Nose and ears above the shoulders (image y grows downwards), eyes above the nose.
    assert nose[1] < min(left_sh[1], right_sh[1])
    assert max(left_ear[1], right_ear[1]) < min(left_sh[1], right_sh[1])
    assert px(result, "left_eye")[1] < nose[1] and px(result, "right_eye")[1] < nose[1]
    # Shoulders are wider than the head.
    g = geometry(result)
    assert 0.25 < g["ear_ratio"] < 0.7 and 0.3 < g["head_drop"] < 1.0, g
    assert result.inference_ms > 0


def test_same_schema_as_clients_send(estimator):
    result = estimator.estimate(skimage.data.astronaut())
    message = result.to_message(frame_id=7)
    assert isinstance(message, LandmarksMessage)
    again = LandmarksMessage.model_validate_json(message.model_dump_json())
    assert again == message and again.frame_id == 7
    assert again.image.width == 512 and len(again.landmarks) == POSE_LANDMARK_COUNT
    assert again.landmarks[0] == result.landmark("nose")
    # Whatever MediaPipe extrapolates (hips far below a head-and-shoulders photo), the
    # values stay inside the contract's bounds, so the message always validates.
    for lm in result.landmarks:
        assert -1 <= lm.x <= 2 and -1 <= lm.y <= 2 and 0 <= lm.visibility <= 1


def test_encoded_frames_give_nearly_the_same_landmarks_as_raw_pixels(estimator):
    """Compression moves the face points by a few % of shoulder width; the shoulders, inferred
    from clothing edges, can move more (astronaut as WebP q90: ~15 %). Downstream features
    must therefore compare a user against a baseline taken through the same pipeline."""
    for load in PHOTOS.values():
        rgb = load()
        raw = estimator.estimate(rgb)
        width = geometry(raw)["shoulder_width_px"]
        for fmt in ("JPEG", "WEBP"):
            coded = estimator.estimate(decode_frame(encode(rgb, fmt)))
            for name in ("nose", "left_eye", "right_eye", "left_ear", "right_ear"):
                assert np.linalg.norm(px(raw, name) - px(coded, name)) < 0.05 * width, name
            for name in ("left_shoulder", "right_shoulder"):
                assert np.linalg.norm(px(raw, name) - px(coded, name)) < 0.25 * width, name


def test_static_mode_is_deterministic(estimator):
    """Same frame, same landmarks: calibration and its tests are reproducible."""
    rgb = skimage.data.astronaut()
    first = estimator.estimate(rgb)
    estimator.estimate(load_grace_hopper())  # no state carried over from another image
    assert estimator.estimate(rgb).landmarks == first.landmarks


@pytest.mark.parametrize("scene", ["brick", "coffee", "flat_grey", "noise"])
def test_no_person_gives_none(scene, estimator):
    if scene == "brick":
        rgb = np.dstack([skimage.data.brick()] * 3)
    elif scene == "coffee":
        rgb = skimage.data.coffee()
    elif scene == "flat_grey":
        rgb = np.full((480, 640, 3), 128, np.uint8)
    else:
        rgb = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    assert estimator.estimate(decode_frame(encode(rgb, "JPEG"))) is None


# Measured on this machine (mediapipe 0.10.21, Pillow 13, quality 90), upright -> moved:
#   astronaut JPEG: head_drop 0.667 -> 0.551, eye_ratio 0.225 -> 0.302, ear_ratio 0.405 -> 0.556
#   astronaut WEBP: head_drop 0.624 -> 0.574, eye_ratio 0.268 -> 0.310, ear_ratio 0.459 -> 0.573
#   grace     JPEG: head_drop 0.581 -> 0.466, eye_ratio 0.210 -> 0.278, ear_ratio 0.408 -> 0.510
#   grace     WEBP: head_drop 0.579 -> 0.500, eye_ratio 0.208 -> 0.269, ear_ratio 0.406 -> 0.511
# (raw pixels, no encoding: astronaut 0.686 / 0.231 / 0.407, grace 0.588 / 0.209 / 0.401)
@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
@pytest.mark.parametrize("photo", list(PHOTOS))
def test_head_moved_down_and_scaled_up_reads_as_forward_head(
    photo, fmt, estimator, forward_head_transform
):
    rgb = PHOTOS[photo]()
    moved_rgb = forward_head_transform(rgb, estimator.estimate(rgb))
    # Both through the same pipeline a client's frames take.
    upright = estimator.estimate(decode_frame(encode(rgb, fmt)))
    moved = estimator.estimate(decode_frame(encode(moved_rgb, fmt)))
    assert upright is not None and moved is not None
    for name in KEY_POINTS:
        assert moved.landmark(name).visibility >= 0.9, name
    before, after = geometry(upright), geometry(moved)
    print(f"\n{photo} {fmt}: before {before}\n{photo} {fmt}: after  {after}")
    # Ears closer to the shoulder line relative to shoulder width ...
    assert after["head_drop"] < before["head_drop"] - 0.04, (before, after)
    # ... and a bigger face relative to the shoulders (the head came towards the camera).
    assert after["eye_ratio"] > before["eye_ratio"] * 1.1, (before, after)
    assert after["ear_ratio"] > before["ear_ratio"] * 1.15, (before, after)


def test_estimate_rejects_wrong_arrays(estimator):
    with pytest.raises(ValueError):
        estimator.estimate(np.zeros((48, 64), np.uint8))
    with pytest.raises(ValueError):
        estimator.estimate(np.zeros((48, 64, 3), np.float32))
    with pytest.raises(ValueError):
        estimator.estimate(np.zeros((48, 64, 4), np.uint8))
    assert estimator.estimate(np.zeros((1, 1, 3), np.uint8)) is None


# -- the pool ------------------------------------------------------------------------------


@pytest.fixture
def counting_pose(monkeypatch):
    """Count MediaPipe graph constructions and the threads that run them."""
    record = {"constructed": [], "process_threads": set()}
    original = estimation.mp_pose.Pose

    class CountingPose(original):
        def __init__(self, *args, **kwargs):
            record["constructed"].append(threading.get_ident())
            super().__init__(*args, **kwargs)

        def process(self, image):
            record["process_threads"].add(threading.get_ident())
            return super().process(image)

    monkeypatch.setattr(estimation.mp_pose, "Pose", CountingPose)
    return record


@pytest.fixture(scope="module")
def frame_640() -> np.ndarray:
    return np.ascontiguousarray(cv2.resize(skimage.data.astronaut(), (640, 480)))


async def test_pool_builds_one_model_per_thread_and_never_runs_on_the_loop(
    counting_pose, frame_640
):
    loop_thread = threading.get_ident()
    async with EstimatorPool(workers=2) as pool:
        await pool.warmup()
        assert pool.constructions == 2
        results = []
        for _ in range(5):
            results += await asyncio.gather(*(pool.estimate(frame_640) for _ in range(6)))
        assert all(r is not None for r in results)
        assert pool.constructions == 2 and pool.pending == 0
    assert len(counting_pose["constructed"]) == 2  # once per worker thread, not per frame
    assert len(set(counting_pose["constructed"])) == 2
    assert counting_pose["process_threads"] == set(counting_pose["constructed"])
    assert loop_thread not in counting_pose["process_threads"]


async def test_pool_builds_lazily_without_warmup(counting_pose, frame_640):
    async with EstimatorPool(workers=1) as pool:
        assert pool.constructions == 0
        for _ in range(4):
            assert await pool.estimate(frame_640) is not None
        assert pool.constructions == 1
    assert len(counting_pose["constructed"]) == 1


async def test_event_loop_keeps_ticking_while_estimates_run(frame_640):
    async with EstimatorPool(workers=2) as pool:
        await pool.warmup()
        ticks: list[float] = []
        stop = asyncio.Event()

        async def ticker():
            while not stop.is_set():
                ticks.append(time.perf_counter())
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        started = time.perf_counter()
        for _ in range(8):
            await asyncio.gather(*(pool.estimate(frame_640) for _ in range(4)))
        elapsed = time.perf_counter() - started
        stop.set()
        await task
    # ~32 estimates of ~10-20 ms each: were they on the loop, it would barely tick at all.
    assert elapsed > 0.1
    assert len(ticks) >= 0.5 * elapsed / 0.01, (len(ticks), elapsed)
    assert float(np.max(np.diff(ticks))) < 0.2


async def test_pool_decodes_and_estimates_frames(frame_640):
    async with EstimatorPool(workers=1) as pool:
        result = await pool.estimate_frame(encode(frame_640, "WEBP"))
        assert result is not None and (result.image.width, result.image.height) == (640, 480)
        assert await pool.estimate_frame(encode(skimage.data.coffee(), "JPEG")) is None
        with pytest.raises(FrameRejected) as info:
            await pool.estimate_frame(b"<html>nope</html>")
        assert info.value.code == "frame_type_unsupported"
        # A bad frame does not break the pool.
        assert await pool.estimate_frame(encode(frame_640, "JPEG")) is not None


async def test_pool_close(counting_pose, frame_640):
    pool = EstimatorPool(workers=1)
    await pool.estimate(frame_640)
    await pool.aclose()
    await pool.aclose()  # idempotent
    assert pool.closed and pool.constructions == 0
    with pytest.raises(RuntimeError):
        await pool.estimate(frame_640)
    with pytest.raises(ValueError):
        EstimatorPool(workers=0)


# -- latest frame wins ---------------------------------------------------------------------


async def test_slot_keeps_only_the_newest_and_counts_drops():
    slot: LatestFrameSlot[int] = LatestFrameSlot()
    assert slot.put(1) is False
    assert slot.put(2) is True
    assert slot.put(3) is True
    assert await slot.get() == 3
    assert (slot.received, slot.taken, slot.dropped) == (3, 1, 2)
    assert slot.take_dropped() == 2 and slot.take_dropped() == 0
    assert slot.get_nowait() is None
    slot.put(4)
    assert slot.get_nowait() == 4


async def test_slot_wakes_a_waiting_consumer_and_closes():
    slot: LatestFrameSlot[str] = LatestFrameSlot()
    getter = asyncio.create_task(slot.get())
    await asyncio.sleep(0.01)
    assert not getter.done()
    slot.put("a")
    assert await asyncio.wait_for(getter, 1) == "a"

    slot.put("b")
    slot.close()  # a waiting frame is still handed out ...
    assert await slot.get() == "b"
    with pytest.raises(SlotClosed):  # ... then the consumer is told to stop
        await slot.get()
    assert slot.put("late") is True and slot.dropped == 1

    other: LatestFrameSlot[str] = LatestFrameSlot()
    waiting = asyncio.create_task(other.get())
    await asyncio.sleep(0)
    other.close()
    with pytest.raises(SlotClosed):
        await asyncio.wait_for(waiting, 1)

    third: LatestFrameSlot[str] = LatestFrameSlot()
    third.put("x")
    third.close(discard=True)
    assert third.dropped == 1 and [item async for item in third] == []


async def test_flood_is_thinned_to_what_the_pool_can_process_latest_first(frame_640):
    """Frames arrive every 2 ms, each estimate takes ~10-20 ms: most are dropped, the ones
    processed are in order, and the last frame sent is always processed."""
    data = encode(frame_640, "JPEG")
    slot: LatestFrameSlot[tuple[int, bytes]] = LatestFrameSlot()
    processed: list[int] = []
    reported_drops = 0

    async with EstimatorPool(workers=1) as pool:
        await pool.warmup()

        async def consumer():
            nonlocal reported_drops
            async for frame_id, frame in slot:
                result = await pool.estimate_frame(frame)
                assert result is not None
                processed.append(frame_id)
                reported_drops += slot.take_dropped()

        task = asyncio.create_task(consumer())
        sent = 100
        for frame_id in range(sent):
            slot.put((frame_id, data))
            await asyncio.sleep(0.002)
        slot.close()
        await asyncio.wait_for(task, 10)

    assert processed == sorted(processed) and len(set(processed)) == len(processed)
    assert processed[-1] == sent - 1  # the newest frame is never dropped
    assert len(processed) < sent / 2
    assert slot.received == sent == slot.taken + slot.dropped
    assert slot.taken == len(processed)
    assert reported_drops + slot.take_dropped() == slot.dropped
