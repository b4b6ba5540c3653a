"""The sketch pipeline on a drawn doodle, tiny SDXL + T2I-Adapter loaded the production way."""

import cv2
import numpy as np
import pytest
import torch
from diffusers import EulerAncestralDiscreteScheduler
from PIL import Image

from saekdam_contracts.jobs import STYLES, SketchParams
from saekdam_worker.models.loading import load_sketch_pipeline
from saekdam_worker.models.settings import ModelSettings
from saekdam_worker.pipelines.sketch import (
    SketchPainter,
    SketchRequest,
    sketch_condition,
)
from saekdam_worker.pipelines.styles import (
    DEFAULT_NEGATIVE_PROMPT,
    STYLE_PRESETS,
    style_prompts,
)
from tests.fixtures.tiny_models.sdxl_adapter import save_tiny_sketch_models

SIZE = 64
STEPS = 3


def draw_house(height: int = 300, width: int = 400) -> np.ndarray:
    """A child's house in RGB on white paper: walls, roof, door, window and a sun."""
    paper = np.full((height, width, 3), 255, np.uint8)
    black, red, orange = (0, 0, 0), (200, 30, 30), (250, 160, 0)
    cv2.rectangle(paper, (90, 140), (270, 280), black, 4)
    cv2.line(paper, (70, 150), (180, 60), red, 4)
    cv2.line(paper, (180, 60), (290, 150), red, 4)
    cv2.rectangle(paper, (160, 200), (200, 280), black, 3)
    cv2.rectangle(paper, (215, 170), (250, 200), black, 3)
    cv2.circle(paper, (340, 60), 30, orange, 4)
    return paper


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    # Tiny models gain nothing from threads, and on a busy CI box threads that wait on each
    # other turn 0.1 s paints into seconds.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def house() -> np.ndarray:
    return draw_house()


@pytest.fixture(scope="module")
def model_folders(tmp_path_factory):
    return save_tiny_sketch_models(tmp_path_factory.mktemp("tiny-sketch-models"))


@pytest.fixture(scope="module")
def pipe(model_folders):
    settings = ModelSettings(**{k: str(v) for k, v in model_folders.items()}, device="cpu")
    return load_sketch_pipeline(settings, torch.device("cpu"))


@pytest.fixture(scope="module")
def painter(pipe) -> SketchPainter:
    return SketchPainter(pipe, size=SIZE)


@pytest.fixture
def unet_calls(pipe):
    calls = []
    handle = pipe.unet.register_forward_hook(lambda *_: calls.append(1))
    yield calls
    handle.remove()


def request(house, **overrides) -> SketchRequest:
    fields = {"image": house, "style": "anime", "prompt": "a house", "seed": 7, "steps": STEPS}
    return SketchRequest(**(fields | overrides))


# -- loading --------------------------------------------------------------------------------


def test_loading_swaps_in_euler_ancestral_and_the_separate_vae(pipe, model_folders):
    from diffusers import AutoencoderKL

    assert isinstance(pipe.scheduler, EulerAncestralDiscreteScheduler)
    assert pipe.adapter.config.in_channels == 1
    separate = AutoencoderKL.from_pretrained(str(model_folders["sdxl_vae"]))
    base_vae = AutoencoderKL.from_pretrained(str(model_folders["sdxl_model"]), subfolder="vae")
    loaded = pipe.vae.state_dict()
    name = "decoder.conv_out.weight"
    assert torch.equal(loaded[name], separate.state_dict()[name])
    assert not torch.equal(loaded[name], base_vae.state_dict()[name])


# -- the condition ---------------------------------------------------------------------------


def test_condition_is_binary_single_channel_edges_of_the_doodle(house):
    condition = sketch_condition(house, size=128)
    assert condition.mode == "L"
    assert condition.size == (128, 128)
    edges = np.asarray(condition)
    assert set(np.unique(edges)) == {0, 255}
    # Edges follow the strokes: the house's outline is there, the empty sky corner is not.
    assert edges[40:75, 20:70].any()  # walls' left side (x=90/400*128, y=140..280/300*128)
    assert not edges[:15, :15].any()
    assert 0.01 < (edges > 0).mean() < 0.5


def test_condition_defaults_to_1024(house):
    assert sketch_condition(house).size == (1024, 1024)


def test_transparent_canvas_counts_as_white_paper(house):
    # The same doodle on a transparent canvas: strokes opaque, paper fully transparent black.
    strokes = (house != 255).any(axis=2)
    rgba = np.zeros(house.shape[:2] + (4,), np.uint8)
    rgba[strokes, :3] = house[strokes]
    rgba[strokes, 3] = 255
    gray = cv2.cvtColor(house, cv2.COLOR_RGB2GRAY)
    on_paper = np.asarray(sketch_condition(house, 128))
    assert np.array_equal(np.asarray(sketch_condition(rgba, 128)), on_paper)
    gray_edges = np.asarray(sketch_condition(gray, 128))
    assert gray_edges.ndim == 2 and gray_edges.any()


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((32, 32, 3), np.float32),
        np.zeros((32, 32, 2), np.uint8),
        np.zeros((2, 32, 32, 3), np.uint8),
        np.zeros((0, 32), np.uint8),
    ],
)
def test_condition_rejects_what_is_not_a_doodle(bad):
    with pytest.raises(ValueError):
        sketch_condition(bad, 64)


# -- styles ----------------------------------------------------------------------------------


def test_presets_are_exactly_the_contract_styles():
    assert tuple(STYLE_PRESETS) == STYLES


@pytest.mark.parametrize("style", STYLES)
def test_each_style_resolves_to_its_template(style):
    preset = STYLE_PRESETS[style]
    prompt, negative = style_prompts(style, "a red house", None)
    head, tail = preset.prompt.split("{prompt}")
    assert "a red house" in prompt
    assert prompt.startswith(" ".join(head.split())) and prompt.endswith(" ".join(tail.split()))
    assert negative.endswith(DEFAULT_NEGATIVE_PROMPT)
    assert negative.startswith(" ".join(preset.negative_prompt.split()))
    if style == "none":
        assert (prompt, negative) == ("a red house", DEFAULT_NEGATIVE_PROMPT)


def test_styles_differ_and_a_user_negative_is_appended():
    prompts = {style_prompts(style, "a red house", None)[0] for style in STYLES}
    assert len(prompts) == len(STYLES)
    _, negative = style_prompts("cinematic", "x", "blurry, two suns")
    assert negative.startswith("anime, cartoon") and negative.endswith(", blurry, two suns")
    assert DEFAULT_NEGATIVE_PROMPT not in negative
    assert style_prompts("none", "x", "") == ("x", "")
    # User braces are text, not template fields.
    assert style_prompts("anime", "{a} {prompt}", None)[0].startswith("anime artwork {a} {prompt}")
    with pytest.raises(ValueError, match="'watercolour'"):
        style_prompts("watercolour", "x", None)


# -- painting --------------------------------------------------------------------------------


def test_paint_returns_an_rgb_picture_and_what_was_asked(painter, house):
    result = painter.paint(request(house, negative_prompt="blurry"))
    assert result.image.shape == (SIZE, SIZE, 3) and result.image.dtype == np.uint8
    assert result.image.std() > 0
    assert result.seed == 7
    assert (result.prompt, result.negative_prompt) == style_prompts("anime", "a house", "blurry")


def test_same_seed_same_picture_other_style_or_seed_another(painter, house):
    first = painter.paint(request(house)).image
    assert np.array_equal(painter.paint(request(house)).image, first)
    assert not np.array_equal(painter.paint(request(house, style="pixel-art")).image, first)
    assert not np.array_equal(painter.paint(request(house, seed=8)).image, first)


def test_the_doodle_steers_the_picture(painter, house):
    first = painter.paint(request(house)).image
    blank = np.full_like(house, 255)
    assert not np.array_equal(painter.paint(request(blank)).image, first)
    # With the adapter off, the doodle no longer matters.
    off = {"adapter_scale": 0.0}
    assert np.array_equal(
        painter.paint(request(house, **off)).image, painter.paint(request(blank, **off)).image
    )


def test_an_unseeded_run_reports_a_seed_that_reproduces_it(painter, house):
    result = painter.paint(request(house, seed=None))
    assert 0 <= result.seed <= 2**32 - 1
    assert np.array_equal(painter.paint(request(house, seed=result.seed)).image, result.image)


def test_size_is_configurable(pipe, house):
    result = SketchPainter(pipe, size=128).paint(request(house, steps=2))
    assert result.image.shape == (128, 128, 3)
    with pytest.raises(ValueError, match="100"):
        SketchPainter(pipe, size=100)


def test_on_step_follows_every_step(painter, house, unet_calls):
    seen = []
    painter.paint(request(house, steps=4), on_step=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert len(unet_calls) == 4


class Cancelled(Exception):
    pass


def test_raising_from_on_step_stops_within_one_step(painter, house, unet_calls):
    seen = []

    def cancel_after_first(done, total):
        seen.append(done)
        raise Cancelled

    with pytest.raises(Cancelled):
        painter.paint(request(house, steps=STEPS), on_step=cancel_after_first)
    assert seen == [1]
    assert len(unet_calls) == 1
    # The pipeline is still fine for the next job.
    unet_calls.clear()
    assert painter.paint(request(house)).image.shape == (SIZE, SIZE, 3)
    assert len(unet_calls) == STEPS


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("style", "watercolour"),
        ("steps", 0),
        ("steps", 2.5),
        ("guidance", -1.0),
        ("adapter_scale", -0.1),
        ("conditioning_factor", 1.5),
        ("seed", -3),
        ("seed", 2**32),
        ("prompt", None),
        ("image", np.zeros((8, 8, 3), np.float64)),
    ],
)
def test_bad_inputs_fail_before_the_model_runs(painter, house, unet_calls, field, value):
    with pytest.raises(ValueError) as caught:
        painter.paint(request(house, **{field: value}))
    assert field in str(caught.value) or "doodle" in str(caught.value)
    if not isinstance(value, np.ndarray):
        assert repr(value) in str(caught.value) or str(value) in str(caught.value)
    assert unet_calls == []


def test_request_from_sketch_params(house):
    params = SketchParams(style="manga", prompt="a cat", seed=3)
    req = SketchRequest.from_params(house, params)
    assert (req.style, req.prompt, req.seed, req.steps, req.guidance) == (
        "manga",
        "a cat",
        3,
        25,
        5.0,
    )
    assert (req.adapter_scale, req.conditioning_factor, req.negative_prompt) == (0.8, 0.8, None)
    assert isinstance(sketch_condition(req.image, 64), Image.Image)
