"""Real photos through the whole stack: JPEG frames over the websocket to a running service.

Calibrate on a photo of a person sitting upright (skimage's astronaut, matplotlib's
grace_hopper), then: the same photo scores `good`; the photo with the head moved down and
scaled up relative to the shoulders (`forward_head_transform`, as in
test_posture_estimation.py) scores `forward_head`; a photo without a person gives `away`.
"""

import asyncio
import io
import time
import uuid

import numpy as np
import pytest
import skimage.data
from matplotlib import cbook
from PIL import Image

from saekdam_posture.estimation import PoseEstimator

pytestmark = pytest.mark.slow

CALIBRATION_S = 3.0
FRAME_INTERVAL_S = 0.1


@pytest.fixture(scope="module")
def posture_database_url(posture_sqlite_url) -> str:
    return posture_sqlite_url


@pytest.fixture(scope="module")
def posture_service_env() -> dict[str, str]:
    return {"CALIBRATION_S": str(CALIBRATION_S), "MAX_MESSAGES_PER_S": "20"}


def jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def grace_hopper() -> np.ndarray:
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        return np.asarray(Image.open(f).convert("RGB"))


PHOTOS = {"astronaut": skimage.data.astronaut, "grace_hopper": grace_hopper}
NO_PERSON = {
    "brick": lambda: np.dstack([skimage.data.brick()] * 3),
    "coffee": skimage.data.coffee,
}


@pytest.fixture(scope="module")
def estimator():
    with PoseEstimator() as est:
        yield est


class Frames:
    """Binary frames on one connection; the server numbers them 1, 2, … in arrival order."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.sent = 0

    async def send(self, data: bytes) -> tuple[dict, list[dict]]:
        """(this frame's result, the messages that came before it)."""
        self.sent += 1
        await self.stream.send(data)
        before = []
        while True:
            message = await self.stream.recv(wait_s=10)
            if message["type"] == "result" and message["frame"] == self.sent:
                return message, before
            assert message["type"] in ("calibration", "alert"), message
            before.append(message)


def short(features: dict | None) -> dict | None:
    keys = ("head_drop_ears", "head_drop_eyes", "face_scale", "nose_below_ears", "head_turn")
    return None if features is None else {k: round(features[k], 3) for k in keys if k in features}


@pytest.mark.parametrize("photo", list(PHOTOS))
async def test_calibrate_on_a_photo_then_score_it_and_its_forward_head_version(
    photo, posture_service, open_stream, estimator, forward_head_transform
):
    rgb = PHOTOS[photo]()
    upright = jpeg(rgb)
    moved = jpeg(forward_head_transform(rgb, estimator.estimate(rgb)))

    async with open_stream(posture_service.token(str(uuid.uuid4()))) as stream:
        frames = Frames(stream)
        # Landmarks found: a scorable frame (no rejection reason) before any calibration.
        first, _ = await frames.send(upright)
        assert first["state"] == "uncalibrated" and first["reason"] is None, first
        assert first["features"]["head_drop_ears"] > 0

        await stream.send({"type": "calibrate", "action": "start"})
        assert (await stream.recv())["status"] == "started"
        deadline = time.monotonic() + CALIBRATION_S + 5
        verdict = None
        while verdict is None:
            assert time.monotonic() < deadline, "calibration did not finish"
            result, before = await frames.send(upright)
            assert result["reason"] is None, result
            verdict = next((m for m in before if m["type"] == "calibration"), None)
            if verdict is None:
                assert result["state"] == "uncalibrated" and result["calibration"], result
                await asyncio.sleep(FRAME_INTERVAL_S)
        assert verdict["status"] == "completed", verdict
        # The frame after the verdict was already scored against the new baseline.
        good = [result]
        for _ in range(2):
            good.append((await frames.send(upright))[0])
        assert [r["state"] for r in good] == ["good"] * 3, good
        assert all(r["raw_score"] < 0.1 for r in good), good

        # The same person with the head jutting forward: forward_head, soon.
        results = []
        deadline = time.monotonic() + 5
        while not results or results[-1]["state"] != "forward_head":
            assert time.monotonic() < deadline, results[-3:]
            results.append((await frames.send(moved))[0])
            await asyncio.sleep(FRAME_INTERVAL_S)
        print(
            f"\n{photo}: upright {short(good[-1]['features'])}\n"
            f"{photo}: moved   {short(results[-1]['features'])} raw {results[-1]['raw_score']}"
            f" after {len(results)} frames"
        )
        assert all(r["reason"] is None and r["raw_score"] >= 0.5 for r in results), results
        assert all(r["state"] in ("good", "forward_head") for r in results), results
        before, after = good[-1]["features"], results[-1]["features"]
        assert after["head_drop_ears"] < before["head_drop_ears"]
        assert after["face_scale"] > before["face_scale"] * 1.1

        # Nobody in the picture: away, with the reason.
        for scene, load in NO_PERSON.items():
            result, _ = await frames.send(jpeg(load()))
            assert result["state"] == "away" and result["reason"] == "no_person", (scene, result)
            assert result["score"] is None and result["features"] is None
        # And back in front of the camera.
        result, _ = await frames.send(upright)
        assert result["reason"] is None and result["state"] != "away", result
