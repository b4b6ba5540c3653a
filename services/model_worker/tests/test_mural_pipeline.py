"""The mural pipeline on a tiny SD inpainting model with one tiny LoRA per theme.

The models are built here, saved to disk and loaded back through the production loading code
(`load_inpaint_pipeline`, `load_theme_adapters`), so the loading path is the real one too.
"""

import cv2
import numpy as np
import pytest
import torch
from skimage import data

from saekdam_contracts.jobs import THEMES as CONTRACT_THEMES
from saekdam_worker.models.loading import load_inpaint_pipeline, load_theme_adapters
from saekdam_worker.models.settings import ModelSettings
from saekdam_worker.pipelines.mural import (
    MAX_SEED,
    MissingThemeAdapter,
    MuralPainter,
    MuralRequest,
    composite,
    working_size,
)
from saekdam_worker.pipelines.prompts import (
    CUSTOM,
    DEFAULT_NEGATIVE_PROMPT,
    THEME_WORDS,
    THEMES,
    TRIGGER_WORDS,
    theme_prompt,
)
from tests.fixtures.tiny_models.inpaint import (
    save_tiny_inpaint,
    save_tiny_theme_loras,
    tiny_theme_lora_unet,
)

ADAPTER_THEMES = [theme for theme in THEMES if theme != CUSTOM]
LORA_R, LORA_ALPHA = 4, 8  # alpha != r: the case that reloads wrongly without metadata
# Small enough that each painting takes a few hundredths of a second on a CPU.
MAX_SIDE = 128
STEPS = 3


class Cancelled(Exception):
    pass


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    # Tiny models gain nothing from threads, and beside other busy processes OpenMP workers
    # waiting for a core took this file from ~8 s to ~35 s on a two-core machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model_settings(tmp_path_factory) -> ModelSettings:
    root = tmp_path_factory.mktemp("tiny_mural_models")
    inpaint = save_tiny_inpaint(root / "inpaint")
    lora_root = save_tiny_theme_loras(
        inpaint, root / "lora", ADAPTER_THEMES, r=LORA_R, alpha=LORA_ALPHA
    )
    return ModelSettings(inpaint_model=str(inpaint), lora_dir=str(lora_root), device="cpu")


@pytest.fixture(scope="module")
def pipe(model_settings):
    pipe = load_inpaint_pipeline(model_settings, torch.device("cpu"))
    assert load_theme_adapters(pipe, model_settings, list(THEMES)) == ADAPTER_THEMES
    return pipe


@pytest.fixture(scope="module")
def painter(pipe) -> MuralPainter:
    return MuralPainter(pipe, ADAPTER_THEMES, max_side=MAX_SIDE)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A brick wall, tinted so the channels differ, cropped non-square (300x412) so the
    working size needs rounding and a swapped width/height would show."""
    gray = data.brick()[:300, :412].astype(np.float32)
    rgb = np.stack([gray, gray * 0.8, gray * 0.6], axis=-1)
    return np.ascontiguousarray(rgb.astype(np.uint8))


def feather(hard: np.ndarray) -> np.ndarray:
    # A fixed kernel has finite support: far from the edge alpha stays exactly 0. The blur
    # overshoots 1 by an ulp (1.0000001); clipped, so `alpha == 1` finds the mask's inside.
    return np.clip(cv2.GaussianBlur(hard.astype(np.float32), (15, 15), 0), 0.0, 1.0)


@pytest.fixture(scope="module")
def box_alpha(photo) -> np.ndarray:
    hard = np.zeros(photo.shape[:2], np.float32)
    hard[60:240, 100:330] = 1.0
    return feather(hard)


@pytest.fixture(scope="module")
def blob_alpha(photo) -> np.ndarray:
    hard = np.zeros(photo.shape[:2], np.uint8)
    cv2.ellipse(hard, (150, 160), (110, 70), 25, 0, 360, 1, -1)
    cv2.circle(hard, (300, 110), 60, 1, -1)
    return feather(hard)


@pytest.fixture
def request_for(photo, box_alpha):
    def make(**overrides) -> MuralRequest:
        fields = dict(
            image=photo, alpha=box_alpha, theme="ocean", prompt="a whale", seed=7, steps=STEPS
        )
        return MuralRequest(**(fields | overrides))

    return make


# -- painting ----------------------------------------------------------------------------


@pytest.mark.parametrize("mask", ["box_alpha", "blob_alpha"])
def test_mural_has_the_photos_size_and_changes_only_the_wall(painter, photo, mask, request):
    alpha = request.getfixturevalue(mask)

    result = painter.paint(MuralRequest(image=photo, alpha=alpha, theme="ocean", steps=STEPS))

    assert result.image.shape == photo.shape and result.image.dtype == np.uint8
    outside, inside = alpha == 0, alpha == 1
    assert outside.any() and inside.any()
    np.testing.assert_array_equal(result.image[outside], photo[outside])
    changed = np.abs(result.image[inside].astype(int) - photo[inside]).max(axis=-1) > 0
    assert changed.mean() > 0.9


def test_feathered_edge_blends_between_the_photo_and_the_mural(painter, request_for, box_alpha):
    # Painted with alpha forced to 1 inside the same support, the edge pixels are the mural.
    mural = painter.paint(request_for(alpha=(box_alpha > 0).astype(np.float32))).image
    blended = painter.paint(request_for()).image

    edge = (box_alpha > 0.2) & (box_alpha < 0.8)
    assert edge.any()
    photo = request_for().image
    expected = composite(photo, mural.astype(np.float32), box_alpha)
    np.testing.assert_allclose(blended[edge], expected[edge], atol=1)


def test_rounding_overshoot_in_alpha_is_accepted(painter, request_for, box_alpha):
    overshoot = np.where(box_alpha == 1, np.float32(1.0000001), box_alpha)
    assert overshoot.max() > 1

    np.testing.assert_array_equal(
        painter.paint(request_for(alpha=overshoot)).image, painter.paint(request_for()).image
    )


def test_same_seed_same_mural_and_the_seed_is_returned(painter, request_for):
    first = painter.paint(request_for(seed=1234))
    again = painter.paint(request_for(seed=1234))
    other = painter.paint(request_for(seed=4321))

    assert first.seed == again.seed == 1234
    np.testing.assert_array_equal(first.image, again.image)
    assert not np.array_equal(first.image, other.image)


def test_a_random_seed_is_returned_and_repeats_the_mural(painter, request_for):
    drawn = painter.paint(request_for(seed=None))

    assert isinstance(drawn.seed, int) and 0 <= drawn.seed <= MAX_SEED
    repeated = painter.paint(request_for(seed=drawn.seed))
    np.testing.assert_array_equal(drawn.image, repeated.image)


def test_each_theme_paints_its_own_mural(painter, request_for):
    murals = {theme: painter.paint(request_for(theme=theme)).image for theme in THEMES}

    images = list(murals.values())
    for i, a in enumerate(images):
        for b in images[i + 1 :]:
            assert not np.array_equal(a, b)


def test_lora_scale_zero_paints_exactly_what_custom_paints(painter, request_for):
    # The same final prompt both ways: custom's prompt spelled out as the ocean template.
    custom_prompt = f"{THEME_WORDS['ocean']}, a whale"
    assert theme_prompt(CUSTOM, custom_prompt) == theme_prompt("ocean", "a whale")

    styled = painter.paint(request_for(theme="ocean", lora_scale=1.0)).image
    unstyled = painter.paint(request_for(theme="ocean", lora_scale=0.0)).image
    custom = painter.paint(request_for(theme=CUSTOM, prompt=custom_prompt)).image
    # After custom switched the adapters off, the theme must come back with its style.
    restyled = painter.paint(request_for(theme="ocean", lora_scale=1.0)).image

    np.testing.assert_array_equal(unstyled, custom)
    assert not np.array_equal(styled, custom)
    np.testing.assert_array_equal(restyled, styled)


def test_lora_scale_scales_the_style(painter, request_for):
    outside = request_for().alpha == 0
    photo = request_for().image.astype(int)
    base = painter.paint(request_for(lora_scale=0.0)).image.astype(int)
    half = painter.paint(request_for(lora_scale=0.5)).image.astype(int)
    full = painter.paint(request_for(lora_scale=1.0)).image.astype(int)

    assert np.abs(half - base)[~outside].mean() < np.abs(full - base)[~outside].mean()
    np.testing.assert_array_equal(full[outside], photo[outside])


def test_on_step_reports_every_step_in_order(painter, request_for):
    calls = []
    painter.paint(request_for(steps=4), on_step=lambda step, total: calls.append((step, total)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_on_step_total_counts_the_steps_strength_leaves(painter, request_for):
    calls = []
    painter.paint(
        request_for(steps=4, strength=0.5), on_step=lambda step, total: calls.append((step, total))
    )
    assert calls == [(1, 2), (2, 2)]


def test_an_exception_from_on_step_stops_denoising_at_once(painter, pipe, request_for):
    unet_calls = []
    hook = pipe.unet.register_forward_hook(lambda *_: unet_calls.append(1))

    def cancel_at_second_step(step, total):
        if step == 2:
            raise Cancelled(f"cancelled at {step}/{total}")

    try:
        with pytest.raises(Cancelled, match="cancelled at 2/10"):
            painter.paint(request_for(steps=10), on_step=cancel_at_second_step)
    finally:
        hook.remove()
    assert len(unet_calls) == 2

    # The painter is still good for the next job.
    assert painter.paint(request_for()).image.shape == request_for().image.shape


def test_paint_uses_the_theme_prompt_and_the_default_negative_prompt(pipe, request_for):
    seen = {}

    class Spy:
        # Only what paint touches; records the call instead of denoising.
        def __call__(self, **kwargs):
            seen.update(kwargs)
            h, w = kwargs["height"], kwargs["width"]
            return type("Out", (), {"images": [np.zeros((h, w, 3), np.float32)]})()

        def __getattr__(self, name):
            return getattr(pipe, name)

    painter = MuralPainter(Spy(), ADAPTER_THEMES, max_side=MAX_SIDE)
    painter.paint(request_for(theme="space", prompt="a red rocket"))
    assert seen["prompt"] == f"{TRIGGER_WORDS}, {THEME_WORDS['space']}, a red rocket"
    assert seen["negative_prompt"] == DEFAULT_NEGATIVE_PROMPT
    assert (seen["width"], seen["height"]) == working_size(412, 300, MAX_SIDE) == (128, 96)
    assert seen["mask_image"].size == seen["image"].size == (128, 96)
    assert (seen["num_inference_steps"], seen["strength"], seen["guidance_scale"]) == (
        STEPS,
        1.0,
        7.5,
    )

    painter.paint(request_for(negative_prompt=""))
    assert seen["negative_prompt"] == ""


# -- adapters ----------------------------------------------------------------------------


def test_a_theme_without_its_adapter_is_refused_not_painted_plain(pipe, request_for):
    painter = MuralPainter(pipe, [t for t in ADAPTER_THEMES if t != "space"], max_side=MAX_SIDE)

    assert "space" not in painter.themes and CUSTOM in painter.themes
    with pytest.raises(MissingThemeAdapter, match="'space'") as caught:
        painter.paint(request_for(theme="space"))
    assert isinstance(caught.value, ValueError) and caught.value.theme == "space"


def test_without_any_adapter_only_custom_is_paintable(pipe, request_for):
    painter = MuralPainter(pipe, [], max_side=MAX_SIDE)
    assert painter.themes == [CUSTOM]
    with pytest.raises(MissingThemeAdapter):
        painter.check_inputs(request_for(theme="ocean"))


def test_reloaded_lora_matches_the_trained_one_alpha_over_r(pipe, model_settings):
    """The alpha != r trap: without the saved metadata, the reloaded adapter would run at
    scale 1 instead of alpha / r = 2 and silently paint a different mural."""
    trained, _ = tiny_theme_lora_unet(
        model_settings.inpaint_model, "ocean", r=LORA_R, alpha=LORA_ALPHA
    )
    pipe.enable_lora()
    pipe.set_adapters(["ocean"], adapter_weights=[1.0])

    to_q = pipe.unet.down_blocks[1].attentions[0].transformer_blocks[0].attn1.to_q
    assert to_q.scaling["ocean"] == LORA_ALPHA / LORA_R

    generator = torch.Generator().manual_seed(0)
    sample = torch.randn(1, 9, 16, 16, generator=generator)
    text = torch.randn(1, 77, 32, generator=generator)
    with torch.no_grad():
        expected = trained(sample, 500, encoder_hidden_states=text).sample
        loaded = pipe.unet(sample, 500, encoder_hidden_states=text).sample
    torch.testing.assert_close(loaded, expected)


# -- sizes, prompts, inputs ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "max_side", "expected"),
    [
        ((412, 300), 768, (416, 304)),  # below the cap: only rounded to multiples of 8
        ((4000, 3000), 768, (768, 576)),  # landscape: long side capped
        ((3000, 4000), 768, (576, 768)),  # portrait
        ((768, 768), 768, (768, 768)),
        ((1000, 10), 768, (768, 64)),  # a sliver: the short side never under 64
        ((20, 30), 768, (64, 64)),
        ((1540, 1000), 770, (768, 504)),  # a cap off the grid: never above it
        ((412, 300), 128, (128, 96)),
        ((300, 412), 128, (96, 128)),
    ],
)
def test_working_size(size, max_side, expected):
    width, height = working_size(*size, max_side=max_side)
    assert (width, height) == expected
    assert width % 8 == 0 and height % 8 == 0 and max(width, height) <= max_side


@pytest.mark.parametrize(("size", "max_side"), [((0, 10), 768), ((10, 10), 32)])
def test_working_size_refuses_nonsense(size, max_side):
    with pytest.raises(ValueError):
        working_size(*size, max_side=max_side)


def test_theme_prompts_carry_the_trigger_words_and_the_users_prompt():
    for theme in THEMES:
        prompt = theme_prompt(theme, "  a big whale ")
        assert prompt.startswith(TRIGGER_WORDS) and prompt.endswith(", a big whale")
        assert THEME_WORDS[theme] in prompt
    assert theme_prompt(CUSTOM, "a big whale") == f"{TRIGGER_WORDS}, a big whale"
    assert theme_prompt(CUSTOM, "") == TRIGGER_WORDS
    with pytest.raises(ValueError, match="'disco'"):
        theme_prompt("disco", "")


def test_themes_match_the_job_contract():
    assert THEMES == CONTRACT_THEMES


def test_composite_is_exact_where_alpha_is_zero_or_one():
    photo = np.array([[[10, 20, 30], [200, 100, 0], [0, 0, 0]]], np.uint8)
    generated = np.array([[[250.0, 0.0, 99.6], [0.0, 0.0, 255.0], [100.0, 50.0, 25.0]]])
    alpha = np.array([[0.0, 1.0, 0.5]], np.float32)

    out = composite(photo, generated, alpha)
    np.testing.assert_array_equal(out, [[[10, 20, 30], [0, 0, 255], [50, 25, 12]]])


BAD_INPUTS = {
    "image dtype": (dict(image=np.zeros((300, 412, 3), np.float32)), "uint8"),
    "image gray": (dict(image=np.zeros((300, 412), np.uint8)), r"\(300, 412\)"),
    "image rgba": (dict(image=np.zeros((300, 412, 4), np.uint8)), r"\(300, 412, 4\)"),
    "alpha shape": (dict(alpha=np.ones((412, 300), np.float32)), r"\(412, 300\)"),
    "alpha dtype": (dict(alpha=np.ones((300, 412), np.uint8)), "uint8"),
    "alpha range": (dict(alpha=np.full((300, 412), 1.5, np.float32)), "1.5"),
    "alpha negative": (dict(alpha=np.full((300, 412), -0.25, np.float32)), "-0.25"),
    "alpha nan": (dict(alpha=np.full((300, 412), np.nan, np.float32)), "NaN"),
    "alpha empty": (dict(alpha=np.zeros((300, 412), np.float32)), "no wall"),
    "theme": (dict(theme="disco"), "'disco'"),
    "steps": (dict(steps=0), "`steps`.* 0"),
    "steps float": (dict(steps=2.5), "2.5"),
    "strength zero": (dict(strength=0.0), "`strength`.* 0.0"),
    "strength high": (dict(strength=1.5), "1.5"),
    "steps x strength": (dict(steps=1, strength=0.5), r"1 \* 0.5"),
    "guidance": (dict(guidance=-1.0), "-1.0"),
    "lora_scale": (dict(lora_scale=-0.5), "-0.5"),
    "seed negative": (dict(seed=-1), "-1"),
    "seed too big": (dict(seed=MAX_SEED + 1), str(MAX_SEED + 1)),
    "prompt": (dict(prompt=None), "`prompt`"),
    "negative_prompt": (dict(negative_prompt=3), "`negative_prompt`"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_check_inputs_names_the_bad_value(painter, request_for, case):
    overrides, message = BAD_INPUTS[case]
    with pytest.raises(ValueError, match=message):
        painter.paint(request_for(**overrides), on_step=pytest.fail)
