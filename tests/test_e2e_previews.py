"""Live previews of a tiny-model mural over real websockets: API, worker and Redis processes."""

import asyncio
import base64
import io
import json
import time

import cv2
import numpy as np
import pytest
import websockets
from PIL import Image
from skimage import data as skdata

from tests.fixtures.client import TERMINAL, Client, png_bytes

pytestmark = pytest.mark.slow

MAX_SIDE, EVERY_S = 256, 0.25
# The wall the uploaded mask marks (x0, y0, x1, y1), and how far beyond it the feather and
# the preview's downscaling may reach.
WALL = (100, 50, 300, 250)
MARGIN_PX = 12


def brick_photo() -> np.ndarray:
    return np.dstack([skdata.brick()] * 3)[:300, :412]


async def watch(
    client: Client,
    task_id: str,
    opened: asyncio.Event,
    previews: dict | None,
    first_preview: asyncio.Event | None = None,
):
    """Every frame until the task ends, each with its arrival time; options first if given."""
    frames: list[tuple[float, dict]] = []
    async with websockets.connect(
        f"{client.ws_url}/v1/tasks/{task_id}/events", additional_headers=client.headers
    ) as ws:
        frames.append((time.monotonic(), json.loads(await ws.recv())))
        if previews is not None:
            await ws.send(json.dumps({"type": "options", "previews": previews}))
        opened.set()
        async with asyncio.timeout(120):
            async for text in ws:
                frame = json.loads(text)
                frames.append((time.monotonic(), frame))
                if first_preview is not None and frame["type"] == "preview":
                    first_preview.set()
                if frame.get("status") in TERMINAL:
                    break
    return frames


def decode_preview(frame: dict) -> tuple[bytes, np.ndarray]:
    header, payload = frame["image"].split(",", 1)
    assert header == "data:image/jpeg;base64", header
    data = base64.b64decode(payload)
    return data, np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


async def test_a_mural_shows_previews_on_its_wall_to_the_client_that_asked(
    system_factory, tiny_models_env
):
    system = system_factory(**tiny_models_env)
    client = await Client(system.base_url).as_guest()
    photo = brick_photo()
    mask = np.zeros(photo.shape[:2], np.uint8)
    x0, y0, x1, y1 = WALL
    mask[y0:y1, x0:x1] = 255
    task_id = await client.create_task()
    await client.upload(task_id, png_bytes(photo))
    await client.upload(task_id, png_bytes(mask), role="mask")

    opened = [asyncio.Event(), asyncio.Event()]
    options = {"max_side": MAX_SIDE, "every_s": EVERY_S}
    previewing = asyncio.Event()
    watching = asyncio.create_task(watch(client, task_id, opened[0], options, previewing))
    plain = asyncio.create_task(watch(client, task_id, opened[1], None))
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in opened)), 10)
    await asyncio.sleep(0.3)  # the options frame handled and the watch entry written
    # The most steps a mural takes: a second or more of denoise even on a fast machine.
    params = {"theme": "ocean", "region": {"mode": "mask"}, "steps": 100, "seed": 7}
    assert (await client.submit(task_id, "mural", params)).status_code == 202
    # A client that (re)connects mid-denoise and opts in.
    await asyncio.wait_for(previewing.wait(), 60)
    late = await watch(client, task_id, asyncio.Event(), options)
    frames, plain_frames = await asyncio.gather(watching, plain)

    late_kinds = [f["type"] for _, f in late]
    # The snapshot first; the answer to its options before any preview. State frames of the
    # denoise go on meanwhile, so one may come before the answer.
    assert late_kinds[0] == "snapshot" and late[0][1]["status"] == "INPROGRESS", late_kinds
    acked = late_kinds.index("options")
    assert "preview" not in late_kinds[:acked], late_kinds
    assert "preview" in late_kinds[acked + 1 : -1], late_kinds

    ack = [f for _, f in frames if f["type"] == "options"]
    assert ack == [{"type": "options", "previews": options}]
    states = [f for _, f in frames if f["type"] in ("snapshot", "status", "progress")]
    assert states[-1]["status"] == "COMPLETED", states[-1]
    seqs = [f["seq"] for f in states]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
    # The other client saw the same state frames and no preview.
    assert [f for _, f in plain_frames] == states

    previews = [(at, f) for at, f in frames if f["type"] == "preview"]
    assert len(previews) >= 2, [f["type"] for _, f in frames]
    kinds = [f["type"] for _, f in frames]
    # Between the start and the end: previews and state frames travel separate paths (a
    # preview is not written to the database first), so a preview may overtake the progress
    # frame of its own step; its `step` (checked below) places it inside the denoise.
    started = next(i for i, (_, f) in enumerate(frames) if f.get("status") == "INPROGRESS")
    assert all(started < i < len(frames) - 1 for i, k in enumerate(kinds) if k == "preview")
    gaps = [b - a for (a, _), (b, _) in zip(previews, previews[1:], strict=False)]
    assert min(gaps) >= EVERY_S * 0.8, gaps

    height, width = photo.shape[:2]
    beyond = np.zeros((height, width), np.uint8)
    beyond[y0 - MARGIN_PX : y1 + MARGIN_PX, x0 - MARGIN_PX : x1 + MARGIN_PX] = 255
    for _, frame in previews:
        assert frame["task_id"] == task_id and 1 <= frame["step"] < frame["total_steps"]
        data, image = decode_preview(frame)
        assert len(data) <= 32_000
        assert image.shape == (frame["height"], frame["width"], 3)
        assert max(frame["width"], frame["height"]) <= MAX_SIDE
        size = (frame["width"], frame["height"])
        scaled = cv2.resize(photo, size, interpolation=cv2.INTER_AREA).astype(np.int16)
        outside = cv2.resize(beyond, size, interpolation=cv2.INTER_AREA) == 0
        # JPEG of a brick texture: a small mean error outside, the mural inside.
        assert np.abs(image[outside] - scaled[outside]).mean() < 6
        inside = ~(cv2.resize(255 - mask, size, interpolation=cv2.INTER_AREA) > 0)
        assert np.abs(image[inside] - scaled[inside]).mean() > 10
