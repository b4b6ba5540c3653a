"""Verification memory is bounded: at most VERIFY_CONCURRENCY images are decoded at once
however many submits arrive together, with the same verdicts, and a JPEG is decoded at an
eighth of its size. Decodes are counted where Pillow does them (ImageFile.load)."""

import asyncio
import io
import threading
import time

import httpx
import pytest
from PIL import Image, ImageFile
from skimage import data as sample_images

from saekdam_api.app import create_app
from saekdam_api.uploads.verify import DecodeSlots, UploadRejected, verify_image

from .board_helpers import guest, png

LIMITS = {"max_pixels": 64_000_000, "min_side": 16, "max_side": 8192}


class DecodeMeter:
    """Wraps Pillow's decode (ImageFile.load) to count how many run at once, holding each a
    little so that overlapping decodes do overlap."""

    def __init__(self, monkeypatch, hold_s: float = 0.05):
        self.running = self.peak = 0
        self.sizes: list[tuple[int, int]] = []
        lock = threading.Lock()
        original = ImageFile.ImageFile.load

        def load(image):
            with lock:
                self.running += 1
                self.peak = max(self.peak, self.running)
                self.sizes.append(image.size)
            try:
                time.sleep(hold_s)
                return original(image)
            finally:
                with lock:
                    self.running -= 1

        monkeypatch.setattr(ImageFile.ImageFile, "load", load)


def _encode(image: Image.Image, format: str) -> bytes:
    out = io.BytesIO()
    image.save(out, format)
    return out.getvalue()


@pytest.fixture
async def verifying_api(api_settings):
    settings = api_settings.model_copy(
        update={"enable_diagnostic_jobs": True, "verify_concurrency": 2}
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.app = app
            yield client


async def _task_with_an_upload(api, headers: dict, image: bytes) -> str:
    task_id = (await api.post("/v1/tasks", headers=headers)).json()["task_id"]
    slot = await api.post(
        f"/v1/tasks/{task_id}/uploads",
        headers=headers,
        json={"role": "image", "content_type": "image/png", "size": len(image)},
    )
    assert slot.status_code == 201, slot.text
    api.app.state.storage.write(slot.json()["key"], image, "image/png")
    return task_id


async def test_concurrent_submits_decode_at_most_the_limit_at_once(verifying_api, monkeypatch):
    api = verifying_api
    headers = await guest(api)
    images = [png(64 + i, 48, seed=i) for i in range(6)]
    ids = [await _task_with_an_upload(api, headers, image) for image in images]
    meter = DecodeMeter(monkeypatch)
    responses = await asyncio.gather(
        *(
            api.post(f"/v1/tasks/{task_id}/submit", headers=headers, json={"kind": "noop"})
            for task_id in ids
        )
    )
    assert [r.status_code for r in responses] == [202] * len(ids), [r.text for r in responses]
    assert len(meter.sizes) >= len(ids)
    assert 1 <= meter.peak <= api.app.state.settings.verify_concurrency
    # The verdicts are those of an unlimited verification: every input, at its size.
    for i, task_id in enumerate(ids):
        (verified,) = (await api.app.state.store.get(task_id)).inputs
        assert (verified["width"], verified["height"]) == (64 + i, 48)
        assert verified["content_type"] == "image/png"


async def test_decode_slots_bound_decodes_and_keep_every_verdict(monkeypatch):
    astronaut = Image.fromarray(sample_images.astronaut())
    good = [_encode(astronaut.resize((100 + i, 80)), "PNG") for i in range(5)]
    truncated = _encode(astronaut, "PNG")
    truncated = truncated[: len(truncated) // 2]
    expected = [verify_image(d, declared_content_type="image/png", **LIMITS) for d in good]
    meter = DecodeMeter(monkeypatch)
    slots = DecodeSlots(3)

    async def verify(data: bytes):
        try:
            return await slots.run(verify_image, data, declared_content_type="image/png", **LIMITS)
        except UploadRejected as refused:
            return refused.code

    results = await asyncio.gather(*(verify(d) for d in [*good, truncated, *good]))
    assert results == [*expected, "upload_undecodable", *expected]
    assert 1 <= meter.peak <= 3


def test_a_jpeg_is_decoded_at_an_eighth_of_its_size(monkeypatch):
    photo = Image.fromarray(sample_images.astronaut()).resize((2048, 1536))
    jpeg = _encode(photo, "JPEG")
    meter = DecodeMeter(monkeypatch, hold_s=0)
    verified = verify_image(jpeg, declared_content_type="image/jpeg", **LIMITS)
    assert (verified.width, verified.height) == (2048, 1536)
    assert meter.sizes == [(256, 192)]
    # ... and a cut one still fails to decode.
    with pytest.raises(UploadRejected) as refused:
        verify_image(jpeg[: len(jpeg) * 2 // 3], declared_content_type="image/jpeg", **LIMITS)
    assert refused.value.code == "upload_undecodable"
