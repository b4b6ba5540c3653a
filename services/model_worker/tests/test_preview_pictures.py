"""Preview pictures: fitted, pasted on the photo's wall, encoded small; and the painters
handing them to a sink while they denoise (tiny models, loaded the production way)."""

import io

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from saekdam_worker.models.loading import load_inpaint_pipeline, load_sketch_pipeline
from saekdam_worker.models.settings import ModelSettings
from saekdam_worker.pipelines.mural import MuralPainter, MuralRequest
from saekdam_worker.pipelines.previews import WallBackdrop, encode_preview, fit, resize
from saekdam_worker.pipelines.sketch import SketchPainter, SketchRequest
from tests.fixtures.tiny_models.inpaint import save_tiny_inpaint
from tests.fixtures.tiny_models.sdxl_adapter import save_tiny_sketch_models

BUDGET = 32_000


class Sink:
    """Wants a preview of `side` at every step it is asked (or never, with side None)."""

    def __init__(self, side: int | None):
        self.side = side
        self.asked: list[int] = []
        self.shown: list[tuple[int, int, np.ndarray]] = []

    def wanted(self) -> int | None:
        self.asked.append(len(self.asked))
        return self.side

    def show(self, step: int, total: int, image: np.ndarray) -> None:
        self.shown.append((step, total, image))


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    gray = data.brick()[:300, :412].astype(np.float32)
    return np.ascontiguousarray(np.stack([gray, gray * 0.8, gray * 0.6], -1).astype(np.uint8))


@pytest.fixture(scope="module")
def alpha(photo) -> np.ndarray:
    hard = np.zeros(photo.shape[:2], np.float32)
    hard[60:240, 100:330] = 1.0
    return np.clip(cv2.GaussianBlur(hard, (15, 15), 0), 0.0, 1.0)


def outside(alpha: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Where the scaled mask is exactly 0."""
    return resize(alpha, size) == 0


# -- sizes, wall, encoding -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "max_side", "expected"),
    [((412, 300), 256, (256, 186)), ((300, 412), 256, (186, 256)), ((64, 64), 256, (64, 64))],
)
def test_fit_caps_the_long_side_and_never_enlarges(size, max_side, expected):
    assert fit(*size, max_side) == expected


def test_outside_the_wall_the_preview_is_the_downscaled_photo(photo, alpha):
    picture = np.full((37, 51, 3), (255, 0, 255), np.uint8)  # latent-sized, magenta
    preview = WallBackdrop(photo, alpha).paste(picture, 256)
    assert preview.shape == (186, 256, 3)
    scaled = resize(photo, (256, 186))
    out = outside(alpha, (256, 186))
    assert out.mean() > 0.4
    assert np.array_equal(preview[out], scaled[out])
    # Inside, the picture shows.
    assert np.abs(preview[80:120, 100:150].astype(int) - scaled[80:120, 100:150]).mean() > 50


def test_the_backdrop_scales_the_photo_once_per_size(photo, alpha):
    backdrop = WallBackdrop(photo, alpha)
    assert backdrop.at(128)[0] is backdrop.at(128)[0]


@pytest.mark.parametrize("max_side", [64, 256, 512])
def test_even_noise_encodes_within_the_budget_and_the_side(max_side):
    noise = np.random.default_rng(0).integers(0, 256, (max_side * 3 // 4, max_side, 3), np.uint8)
    encoded, width, height = encode_preview(noise, BUDGET)
    assert len(encoded) <= BUDGET
    decoded = Image.open(io.BytesIO(encoded))
    assert decoded.format == "JPEG" and decoded.size == (width, height)
    assert max(width, height) <= max_side


def test_a_photo_preview_keeps_its_size_and_good_quality(photo):
    small = resize(photo, (256, 186))
    encoded, width, height = encode_preview(small, BUDGET)
    assert (width, height) == (256, 186) and len(encoded) <= BUDGET
    decoded = np.asarray(Image.open(io.BytesIO(encoded)).convert("RGB"), dtype=np.int16)
    assert np.abs(decoded - small).mean() < 8


def test_encode_refuses_what_is_not_an_rgb_picture():
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        encode_preview(np.zeros((8, 8), np.uint8), BUDGET)


# -- painters ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mural_painter(tmp_path_factory) -> MuralPainter:
    folder = save_tiny_inpaint(tmp_path_factory.mktemp("tiny-inpaint") / "inpaint")
    settings = ModelSettings(inpaint_model=str(folder), device="cpu")
    return MuralPainter(load_inpaint_pipeline(settings, torch.device("cpu")), [], max_side=128)


def test_a_mural_previews_every_wanted_step_but_the_last_on_its_wall(mural_painter, photo, alpha):
    sink = Sink(side=200)
    request = MuralRequest(image=photo, alpha=alpha, theme="custom", seed=3, steps=4)
    result = mural_painter.paint(request, preview=sink)
    assert [(step, total) for step, total, _ in sink.shown] == [(1, 4), (2, 4), (3, 4)]
    scaled = resize(photo, (200, 146))
    out = outside(alpha, (200, 146))
    for _, _, image in sink.shown:
        assert image.shape == (146, 200, 3) and image.dtype == np.uint8
        assert np.array_equal(image[out], scaled[out])
    # Previews change nothing of the result.
    assert np.array_equal(mural_painter.paint(request).image, result.image)


def test_a_mural_makes_no_preview_nobody_wants(mural_painter, photo, alpha):
    sink = Sink(side=None)
    steps = []
    request = MuralRequest(image=photo, alpha=alpha, theme="custom", seed=3, steps=3)
    mural_painter.paint(request, on_step=lambda s, t: steps.append(s), preview=sink)
    assert sink.shown == [] and len(sink.asked) == 2 and steps == [1, 2, 3]


def test_a_failing_preview_does_not_stop_the_mural(mural_painter, photo, alpha):
    def broken(latents):
        raise RuntimeError("decoder on fire")

    painter = MuralPainter(mural_painter.pipe, [], max_side=128, latent_rgb=broken)
    sink = Sink(side=128)
    request = MuralRequest(image=photo, alpha=alpha, theme="custom", seed=3, steps=2)
    assert painter.paint(request, preview=sink).image.shape == photo.shape
    assert sink.shown == []


def test_a_sketch_previews_the_whole_picture(tmp_path_factory):
    folders = save_tiny_sketch_models(tmp_path_factory.mktemp("tiny-sketch"))
    settings = ModelSettings(
        sdxl_model=str(folders["sdxl_model"]),
        sdxl_vae=str(folders["sdxl_vae"]),
        sketch_adapter=str(folders["sketch_adapter"]),
        device="cpu",
    )
    painter = SketchPainter(load_sketch_pipeline(settings, torch.device("cpu")), size=64)
    doodle = np.full((64, 64, 3), 255, np.uint8)
    cv2.rectangle(doodle, (10, 10), (50, 50), (0, 0, 0), 3)
    sink = Sink(side=256)
    painter.paint(SketchRequest(image=doodle, steps=3, seed=1), preview=sink)
    assert [(s, t) for s, t, _ in sink.shown] == [(1, 3), (2, 3)]
    # Never larger than the result itself.
    assert all(image.shape == (64, 64, 3) for _, _, image in sink.shown)
