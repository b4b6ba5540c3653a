"""Mural and sketch jobs through the real API, worker and Redis, on tiny models (CPU)."""

import asyncio
import json
import re

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from tests.fixtures.client import Client, decode, png_bytes

pytestmark = pytest.mark.slow


def brick_photo() -> np.ndarray:
    return np.dstack([skdata.brick()] * 3)[:300, :412]  # grey brick wall, not square


def doodle() -> np.ndarray:
    canvas = np.full((256, 256, 3), 255, np.uint8)
    cv2.rectangle(canvas, (60, 110), (196, 220), (0, 0, 0), 4)
    cv2.line(canvas, (50, 115), (128, 40), (0, 0, 0), 4)
    cv2.line(canvas, (128, 40), (206, 115), (0, 0, 0), 4)
    return canvas


def assert_progress_frames(frames: list[dict]) -> None:
    seqs = [f["seq"] for f in frames]
    assert seqs == sorted(set(seqs)), seqs
    progress = [f["progress"] for f in frames]
    assert progress == sorted(progress), progress
    assert sum(f["type"] == "progress" and f.get("stage") == "denoise" for f in frames) >= 2


async def test_a_mural_job_completes_with_growing_progress(system_factory, tiny_models_env):
    system = system_factory(**tiny_models_env)
    client = await Client(system.base_url).as_guest()
    photo = brick_photo()
    task_id = await client.create_task()
    await client.upload(task_id, png_bytes(photo))
    params = {
        "theme": "ocean",
        "prompt": "whales",
        "region": {"mode": "box", "box": {"x": 0.2, "y": 0.2, "w": 0.5, "h": 0.5}},
        "steps": 4,
        "seed": 7,
    }
    assert (await client.submit(task_id, "mural", params)).status_code == 202
    frames = await client.events(task_id, timeout_s=120)
    assert frames[-1]["status"] == "COMPLETED", frames[-1]
    assert_progress_frames(frames)
    (result,) = (await client.task(task_id))["results"]
    assert result["seed"] == 7
    image = decode((await client.download(result["url"])).content)
    assert image.size == (412, 300) and result["content_type"] == "image/png"
    pixels = np.asarray(image.convert("RGB"))
    # The box spans x 82..288, y 60..210; the feather reaches a few pixels beyond it.
    outside = np.ones((300, 412), bool)
    outside[50:220, 72:298] = False
    assert np.array_equal(pixels[outside], photo[outside])
    assert not np.array_equal(pixels[90:180, 110:260], photo[90:180, 110:260])
    # The copies for screens: WebPs of the mural's size (it is small), close to it.
    for label in ("display", "thumbnail"):
        copy = decode((await client.download(result[label]["url"])).content)
        assert copy.format == "WEBP" and copy.size == (412, 300)
        assert (result[label]["width"], result[label]["height"]) == (412, 300)
        difference = np.abs(np.asarray(copy.convert("RGB"), int) - pixels.astype(int))
        assert difference.mean() < 8


async def test_a_mural_with_an_uploaded_mask(system_factory, tiny_models_env):
    system = system_factory(**tiny_models_env)
    client = await Client(system.base_url).as_guest()
    mask = np.zeros((300, 412), np.uint8)
    mask[50:250, 100:300] = 255
    task_id = await client.create_task()
    await client.upload(task_id, png_bytes(brick_photo()))
    await client.upload(task_id, png_bytes(mask), role="mask")
    params = {"theme": "custom", "prompt": "stars", "region": {"mode": "mask"}, "steps": 2}
    assert (await client.submit(task_id, "mural", params)).status_code == 202
    task = await client.wait_until(task_id, lambda t: t["status"] in ("COMPLETED", "FAILED"), 120)
    assert task["status"] == "COMPLETED", task
    assert isinstance(task["results"][0]["seed"], int)


async def test_cancel_mid_denoise_stops_within_a_step(system_factory, tiny_models_env):
    system = system_factory(**tiny_models_env)
    client = await Client(system.base_url).as_guest()
    task_id = await client.create_task()
    await client.upload(task_id, png_bytes(brick_photo()))
    params = {"theme": "nature", "region": {"mode": "mask"}, "steps": 100}
    mask = np.full((300, 412), 255, np.uint8)
    await client.upload(task_id, png_bytes(mask), role="mask")
    await client.submit(task_id, "mural", params)
    running = await client.wait_until(
        task_id, lambda t: t["stage"] == "denoise" and (t["step"] or 0) >= 3, 120
    )
    response = await client.request("POST", f"/v1/tasks/{task_id}/cancel")
    assert response.json()["status"] == "CANCELLED"

    async with asyncio.timeout(30):
        while '"outcome": "abandoned"' not in system.worker_log(0):  # noqa: ASYNC110 - a log
            await asyncio.sleep(0.05)
    ended = [json.loads(line) for line in system.worker_log(0).splitlines() if "abandoned" in line]
    stopped_at = int(re.search(r"step (\d+)", ended[-1]["msg"]).group(1))
    cancelled_at = (await client.task(task_id))["step"]
    assert cancelled_at >= running["step"]
    assert stopped_at - cancelled_at <= 2, (stopped_at, cancelled_at)
    assert stopped_at < 100
    final = await client.task(task_id)
    assert final["status"] == "CANCELLED" and final["results"] is None
    assert system.result_keys(task_id) == []


async def test_a_missing_model_fails_the_job_and_the_worker_keeps_serving(system_factory):
    system = system_factory(INPAINT_MODEL="/nonexistent/inpainting", MODEL_DIR="/nonexistent")
    client = await Client(system.base_url).as_guest()
    task_id = await client.create_task()
    await client.upload(task_id, png_bytes(brick_photo()))
    await client.upload(task_id, png_bytes(np.full((300, 412), 255, np.uint8)), role="mask")
    await client.submit(task_id, "mural", {"theme": "custom", "region": {"mode": "mask"}})
    failed = await client.wait_until(task_id, lambda t: t["status"] == "FAILED", 120)
    assert failed["error"]["code"] == "model_unavailable"
    assert "download-models" in failed["error"]["message"]

    next_task = await client.create_task()
    await client.upload(next_task, png_bytes(brick_photo()))
    await client.submit(next_task, "filter", {"filter": "emboss"})
    assert (await client.wait_until(next_task, lambda t: t["status"] == "COMPLETED"))[
        "attempt"
    ] == 1


async def test_a_sketch_job_completes_at_the_configured_size(system_factory, tiny_models_env):
    system = system_factory(**tiny_models_env)
    client = await Client(system.base_url).as_guest()
    task_id = await client.create_task()
    await client.upload(task_id, png_bytes(doodle()), role="sketch")
    params = {"style": "anime", "prompt": "a house", "steps": 3, "seed": 11}
    assert (await client.submit(task_id, "sketch", params)).status_code == 202
    frames = await client.events(task_id, timeout_s=120)
    assert frames[-1]["status"] == "COMPLETED", frames[-1]
    assert_progress_frames(frames)
    (result,) = (await client.task(task_id))["results"]
    assert (result["width"], result["height"], result["seed"]) == (64, 64, 11)


async def test_themes_and_styles_list_what_the_workers_can_do(system_factory, tiny_models_env):
    system = system_factory(**tiny_models_env)
    client = Client(system.base_url)
    async with asyncio.timeout(30):
        while True:
            themes = (await client.request("GET", "/v1/themes")).json()["themes"]
            if any(t["available"] for t in themes):
                break
            await asyncio.sleep(0.2)
    regions = (await client.request("GET", "/v1/themes")).json()["regions"]
    assert regions == ["auto", "box", "points", "mask"]
    available = {t["name"] for t in themes if t["available"]}
    assert available == {"animals", "ocean", "nature", "play", "urban", "custom"}  # no `space`
    styles = (await client.request("GET", "/v1/styles")).json()["styles"]
    assert len(styles) == 10 and all(s["available"] for s in styles)
