import io
import threading
import time

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from saekdam_backbone.storage.base import ObjectNotFound
from saekdam_contracts.jobs import FilterParams, JobKind, NoopParams, PanoramaParams
from saekdam_contracts.keys import result_prefix
from saekdam_worker import jobs  # noqa: F401  (registers the handlers)
from saekdam_worker.context import InputRef, JobContext, ProgressUpdate
from saekdam_worker.errors import JobAbandoned, JobError, TransientJobError
from saekdam_worker.jobs.images import store_image
from saekdam_worker.pipelines.codec import decode_image, encode_jpeg, encode_png
from saekdam_worker.registry import handler_for, registered_kinds

TASK_ID = "task-1"
ATTEMPT = 2


class MemoryStorage:
    """The two ObjectStorage methods job handlers use, kept in a dict."""

    def __init__(self):
        self.objects: dict[str, tuple[bytes, str]] = {}

    def read(self, key: str, max_bytes: int | None = None) -> bytes:
        if key not in self.objects:
            raise ObjectNotFound(key)
        return self.objects[key][0]

    def write(self, key: str, data: bytes, content_type: str) -> None:
        self.objects[key] = (data, content_type)

    def results(self) -> dict[str, tuple[bytes, str]]:
        return {k: v for k, v in self.objects.items() if k.startswith("results/")}


class Harness:
    def __init__(self):
        self.storage = MemoryStorage()
        self.updates: list[ProgressUpdate] = []
        self.cancelled = threading.Event()
        self.inputs: list[InputRef] = []

    def add_image(self, image: np.ndarray, data: bytes | None = None) -> None:
        upload_id = f"upload-{len(self.inputs)}"
        key = f"uploads/user-1/{TASK_ID}/{upload_id}"
        self.storage.write(key, encode_png(image) if data is None else data, "image/png")
        height, width = image.shape[:2]
        self.inputs.append(InputRef(upload_id, "image", key, "image/png", width, height))

    def context(self) -> JobContext:
        return JobContext(
            task_id=TASK_ID,
            attempt=ATTEMPT,
            inputs=self.inputs,
            storage=self.storage,
            report=self.updates.append,
            cancelled=self.cancelled,
        )

    def run(self, kind: str, params):
        return handler_for(kind)(self.context(), params)

    def progress(self) -> list[float]:
        return [update.progress for update in self.updates]


def bgr(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rgb[:, :, ::-1])


def assert_progress_completes(progress: list[float]) -> None:
    assert progress, "no progress was reported"
    assert progress == sorted(progress)
    assert progress[-1] == 1.0


def test_every_job_kind_has_a_handler():
    assert registered_kinds() == sorted(kind.value for kind in JobKind)


def test_filter_job_stores_a_jpeg_of_the_input_size_under_the_attempt_prefix():
    harness = Harness()
    harness.add_image(bgr(data.coffee()))

    (item,) = harness.run("filter", FilterParams(filter="cartoon"))

    assert item.key == f"results/{TASK_ID}/{ATTEMPT}/filter.jpg"
    assert item.key.startswith(result_prefix(TASK_ID, ATTEMPT))
    stored, content_type = harness.storage.objects[item.key]
    assert content_type == item.content_type == "image/jpeg"
    assert decode_image(stored).shape == (400, 600, 3)
    assert (item.width, item.height) == (600, 400)
    assert_progress_completes(harness.progress())
    assert {update.stage for update in harness.updates} == {"download", "filter", "upload"}


def test_filter_job_rejects_an_undecodable_upload():
    harness = Harness()
    harness.add_image(np.zeros((20, 20, 3), np.uint8), data=b"\x89PNG but truncated")

    with pytest.raises(JobError) as raised:
        harness.run("filter", FilterParams(filter="emboss"))

    assert raised.value.code == "input_undecodable"
    assert not isinstance(raised.value, TransientJobError)
    assert harness.storage.results() == {}


def test_filter_job_reports_a_missing_upload():
    harness = Harness()
    harness.add_image(np.zeros((20, 20, 3), np.uint8))
    harness.storage.objects.clear()

    with pytest.raises(JobError) as raised:
        harness.run("filter", FilterParams(filter="original"))

    assert raised.value.code == "input_missing"


def test_panorama_job_stitches_the_uploads_and_counts_downloads():
    astronaut = bgr(data.astronaut())
    harness = Harness()
    harness.add_image(astronaut[:, :320])
    harness.add_image(astronaut[:, 192:])

    (item,) = harness.run("panorama", PanoramaParams())

    assert item.key == f"results/{TASK_ID}/{ATTEMPT}/panorama.jpg"
    stored = decode_image(harness.storage.objects[item.key][0])
    assert stored.shape[:2] == (item.height, item.width)
    assert item.width > 320
    assert_progress_completes(harness.progress())
    downloads = [(u.step, u.total_steps) for u in harness.updates if u.stage == "download"]
    assert downloads[-2:] == [(1, 2), (2, 2)]


def test_panorama_job_turns_a_stitch_failure_into_a_permanent_job_error():
    harness = Harness()
    harness.add_image(bgr(data.astronaut()))
    harness.add_image(np.repeat(data.brick()[:, :, None], 3, axis=2))

    with pytest.raises(JobError) as raised:
        harness.run("panorama", PanoramaParams(mode="scans"))

    assert raised.value.code == "stitch_failed"
    assert not isinstance(raised.value, TransientJobError)
    assert harness.storage.results() == {}


def test_noop_job_reports_every_step_and_leaves_one_tiny_png():
    harness = Harness()

    (item,) = harness.run("noop", NoopParams(steps=4, step_s=0.01))

    assert item.key == f"results/{TASK_ID}/{ATTEMPT}/noop.png"
    assert list(harness.storage.results()) == [item.key]
    assert decode_image(harness.storage.objects[item.key][0]).shape == (8, 8, 3)
    assert harness.progress() == [0.25, 0.5, 0.75, 1.0]
    assert [(u.step, u.total_steps) for u in harness.updates] == [(i, 4) for i in range(1, 5)]


def test_noop_error_fails_permanently_before_any_progress():
    harness = Harness()

    with pytest.raises(JobError) as raised:
        harness.run("noop", NoopParams(steps=3, fail="error"))

    assert type(raised.value) is JobError
    assert raised.value.code == "noop_failed"
    assert harness.updates == []


def test_noop_transient_asks_for_a_retry():
    harness = Harness()

    with pytest.raises(TransientJobError) as raised:
        harness.run("noop", NoopParams(fail="transient"))

    assert raised.value.code == "noop_transient"


def test_report_raises_job_abandoned_once_cancelled():
    harness = Harness()
    ctx = harness.context()
    ctx.plan(run=1)
    ctx.report("run", 0.5)
    harness.cancelled.set()

    with pytest.raises(JobAbandoned):
        ctx.report("run", 0.75)

    assert harness.progress() == [0.5]


def test_cancelling_mid_job_abandons_it_without_a_result():
    harness = Harness()

    def cancel_after_second_step(update: ProgressUpdate) -> None:
        harness.updates.append(update)
        if update.step == 2:
            harness.cancelled.set()

    ctx = JobContext(
        task_id=TASK_ID,
        attempt=ATTEMPT,
        inputs=[],
        storage=harness.storage,
        report=cancel_after_second_step,
        cancelled=harness.cancelled,
    )
    with pytest.raises(JobAbandoned):
        handler_for("noop")(ctx, NoopParams(steps=5))

    assert [u.step for u in harness.updates] == [1, 2]
    assert harness.storage.results() == {}


def test_noop_notices_a_cancel_during_a_long_step():
    harness = Harness()
    timer = threading.Timer(0.1, harness.cancelled.set)
    timer.start()
    started = time.monotonic()

    with pytest.raises(JobAbandoned):
        harness.run("noop", NoopParams(steps=1, step_s=10.0))

    assert time.monotonic() - started < 1.0
    timer.cancel()


def test_filter_job_on_a_cancelled_task_never_reads_or_writes():
    harness = Harness()
    harness.add_image(bgr(data.coffee()))
    harness.cancelled.set()

    with pytest.raises(JobAbandoned):
        harness.run("filter", FilterParams(filter="oil_painting"))

    assert harness.updates == []
    assert harness.storage.results() == {}


def test_jpeg_input_is_accepted_as_well_as_png():
    harness = Harness()
    coffee = bgr(data.coffee())
    harness.add_image(coffee, data=encode_jpeg(coffee))

    (item,) = harness.run("filter", FilterParams(filter="pencil_color"))

    assert (item.width, item.height) == (600, 400)


def test_an_image_result_carries_display_and_thumbnail_copies_under_the_attempt_prefix():
    harness = Harness()
    coffee = bgr(data.coffee())  # 600x400, enlarged to a 3000x2000 photo
    harness.add_image(cv2.resize(coffee, (3000, 2000), interpolation=cv2.INTER_CUBIC))

    (item,) = harness.run("filter", FilterParams(filter="original"))

    prefix = f"results/{TASK_ID}/{ATTEMPT}/"
    assert item.display.key == prefix + "filter.display.webp"
    assert item.thumbnail.key == prefix + "filter.thumbnail.webp"
    assert sorted(harness.storage.results()) == sorted(
        [item.key, item.display.key, item.thumbnail.key]
    )
    for rendition, size in ((item.display, (2048, 1365)), (item.thumbnail, (512, 341))):
        stored, content_type = harness.storage.objects[rendition.key]
        assert content_type == rendition.content_type == "image/webp"
        with Image.open(io.BytesIO(stored)) as decoded:
            assert decoded.format == "WEBP" and decoded.size == size
        assert (rendition.width, rendition.height) == size
    assert (item.width, item.height) == (3000, 2000)


def test_a_lossless_result_keeps_every_pixel_and_its_copies_look_like_it():
    harness = Harness()
    ctx = harness.context()
    image = bgr(data.astronaut())  # 512x512

    item = store_image(ctx, "mural", image, lossless=True, seed=5)

    assert item.key.endswith("/mural.png") and item.content_type == "image/png"
    assert item.seed == 5 and item.display.width == item.thumbnail.width == 512
    assert np.array_equal(decode_image(harness.storage.objects[item.key][0]), image)
    display = decode_image(harness.storage.objects[item.display.key][0])
    assert np.abs(display.astype(int) - image.astype(int)).mean() < 4  # lossy, same picture


def test_storing_the_same_image_twice_gives_the_same_bytes():
    image = bgr(data.chelsea())
    first, second = Harness(), Harness()

    store_image(first.context(), "filter", image, lossless=False)
    store_image(second.context(), "filter", image, lossless=False)

    assert first.storage.results() == second.storage.results()
