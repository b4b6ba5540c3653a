"""Sketch to picture: SDXL base with the T2I-Adapter sketch, guided by the doodle's edges.

As the original Sketch2Art: the doodle is resized to 1024x1024 and its Canny(80, 80) edges
(white lines on black, one channel) condition the adapter; the prompt goes through a style
preset; 25 Euler-ancestral steps at guidance 5, adapter scale 0.8 applied for the first 80%
of the steps. Pure model code: arrays and a loaded pipeline in, an array out.

Not thread-safe: diffusers pipelines keep scheduler state. One SketchPainter per worker process.
"""

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from .latent_rgb import LinearLatentRGB
from .previews import PreviewSink, fitted
from .styles import STYLE_PRESETS, style_prompts

log = logging.getLogger(__name__)

CANNY_LOW = 80
CANNY_HIGH = 80
MAX_SEED = 2**32 - 1

StepCallback = Callable[[int, int], None]


def _check_doodle(image: object) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise ValueError(f"the doodle must be a numpy array, not {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ValueError(f"the doodle must be uint8, not {image.dtype}")
    channels = 1 if image.ndim == 2 else image.shape[2] if image.ndim == 3 else None
    if channels not in (1, 3, 4):
        raise ValueError(
            f"the doodle must be gray (H, W), RGB (H, W, 3) or RGBA (H, W, 4), not {image.shape}"
        )
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"the doodle is empty: {image.shape}")
    return image


def _flatten(image: np.ndarray) -> np.ndarray:
    """Gray or RGB, with any transparency composited onto white paper."""
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 4:
        rgb = image[:, :, :3].astype(np.float32)
        alpha = image[:, :, 3:].astype(np.float32) / 255.0
        return np.round(rgb * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    return image


def sketch_condition(image: np.ndarray, size: int = 1024) -> Image.Image:
    """The adapter's input: the doodle's edges at size x size, 0 or 255, one channel ("L").

    Transparent pixels count as white paper (a doodle drawn on a transparent canvas would
    otherwise be black on black). Shrinking uses area averaging, which keeps thin strokes that
    a bilinear resize can break; Canny then runs on the colour image, as the original did.
    """
    image = _flatten(_check_doodle(image))
    if size < 1:
        raise ValueError(f"size must be positive, not {size}")
    height, width = image.shape[:2]
    shrinking = height * width > size * size
    resized = cv2.resize(
        np.ascontiguousarray(image),
        (size, size),
        interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR,
    )
    edges = cv2.Canny(resized, CANNY_LOW, CANNY_HIGH)
    return Image.fromarray(np.where(edges > 0, 255, 0).astype(np.uint8))  # 2-D uint8: "L"


@dataclass
class SketchRequest:
    """One sketch job's inputs; defaults are the product's (and SketchParams')."""

    image: np.ndarray  # the doodle: uint8 gray, RGB or RGBA
    style: str = "none"
    prompt: str = ""
    negative_prompt: str | None = None
    seed: int | None = None
    steps: int = 25
    guidance: float = 5.0
    adapter_scale: float = 0.8
    conditioning_factor: float = 0.8

    @classmethod
    def from_params(cls, image: np.ndarray, params) -> "SketchRequest":
        """From validated SketchParams (anything with the same attribute names)."""
        return cls(
            image=image,
            style=params.style,
            prompt=params.prompt,
            negative_prompt=params.negative_prompt,
            seed=params.seed,
            steps=params.steps,
            guidance=params.guidance,
            adapter_scale=params.adapter_scale,
            conditioning_factor=params.conditioning_factor,
        )


@dataclass
class SketchResult:
    image: np.ndarray  # uint8 RGB, size x size
    seed: int
    prompt: str  # as sent to the model, style applied
    negative_prompt: str


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


class SketchPainter:
    """Paints sketch requests with a loaded StableDiffusionXLAdapterPipeline. `latent_rgb`
    turns latents into preview pictures (the linear SDXL projection unless given)."""

    def __init__(self, pipe, size: int = 1024, latent_rgb=None):
        multiple = self._size_multiple(pipe)
        if not _is_int(size) or size < multiple or size % multiple:
            raise ValueError(
                f"sketch size {size!r} must be a positive multiple of {multiple} "
                "(the VAE's and the adapter's downscaling)"
            )
        self.pipe = pipe
        self.size = int(size)
        self.latent_rgb = latent_rgb or LinearLatentRGB.sdxl()

    @staticmethod
    def _size_multiple(pipe) -> int:
        vae_factor = getattr(pipe, "vae_scale_factor", 8)
        adapter = getattr(pipe, "adapter", None)
        adapter_factor = getattr(adapter, "total_downscale_factor", 1) if adapter else 1
        return int(np.lcm(int(vae_factor), int(adapter_factor)))

    def check_inputs(self, request: SketchRequest) -> None:
        """Raise ValueError, naming the offending value, for anything the model can't take."""
        _check_doodle(request.image)
        if request.style not in STYLE_PRESETS:
            raise ValueError(f"unknown style {request.style!r}; one of {', '.join(STYLE_PRESETS)}")
        if not isinstance(request.prompt, str):
            raise ValueError(f"prompt must be a string, not {type(request.prompt).__name__}")
        if request.negative_prompt is not None and not isinstance(request.negative_prompt, str):
            raise ValueError(
                f"negative_prompt must be a string or None, not {request.negative_prompt!r}"
            )
        if request.seed is not None and not (
            _is_int(request.seed) and 0 <= request.seed <= MAX_SEED
        ):
            raise ValueError(f"seed {request.seed!r} must be an integer in 0..{MAX_SEED}")
        if not (_is_int(request.steps) and request.steps >= 1):
            raise ValueError(f"steps {request.steps!r} must be an integer >= 1")
        if not (_is_number(request.guidance) and request.guidance >= 0):
            raise ValueError(f"guidance {request.guidance!r} must be a number >= 0")
        if not (_is_number(request.adapter_scale) and request.adapter_scale >= 0):
            raise ValueError(f"adapter_scale {request.adapter_scale!r} must be a number >= 0")
        if not (_is_number(request.conditioning_factor) and 0 <= request.conditioning_factor <= 1):
            raise ValueError(f"conditioning_factor {request.conditioning_factor!r} must be in 0..1")

    def paint(
        self,
        request: SketchRequest,
        on_step: StepCallback | None = None,
        preview: PreviewSink | None = None,
    ) -> SketchResult:
        """Run the job. `on_step(done, total)` follows every denoising step; an exception it
        raises (a cancel) propagates out at once, stopping the loop within one step. Then,
        when `preview` wants one, the latents so far go to `preview.show` as a picture."""
        import torch

        self.check_inputs(request)
        prompt, negative = style_prompts(request.style, request.prompt, request.negative_prompt)
        condition = sketch_condition(request.image, self.size)
        seed = int(request.seed) if request.seed is not None else secrets.randbelow(MAX_SEED + 1)
        # A CPU generator gives the same noise for a seed on every device.
        generator = torch.Generator("cpu").manual_seed(seed)
        total = int(request.steps)

        def step_done(step: int, timestep, latents) -> None:
            if on_step is not None:
                on_step(step + 1, total)
            if preview is not None:
                self._preview(preview, step + 1, total, latents)

        try:
            output = self.pipe(
                prompt=prompt,
                negative_prompt=negative,
                image=condition,
                height=self.size,
                width=self.size,
                num_inference_steps=total,
                guidance_scale=float(request.guidance),
                adapter_conditioning_scale=float(request.adapter_scale),
                adapter_conditioning_factor=float(request.conditioning_factor),
                generator=generator,
                output_type="np",
                # This pipeline has no callback_on_step_end (nor interrupt): the legacy callback
                # runs after every scheduler step, with the step index, timestep and latents.
                callback=step_done,
                callback_steps=1,
            )
        finally:
            # A run stopped mid-loop skips the pipeline's own clean-up (CPU offload hooks).
            self.pipe.maybe_free_model_hooks()
        pixels = np.asarray(output.images[0], dtype=np.float32)
        image = np.clip(np.round(pixels * 255.0), 0, 255).astype(np.uint8)
        return SketchResult(image=image, seed=seed, prompt=prompt, negative_prompt=negative)

    def _preview(self, sink: PreviewSink, step: int, total: int, latents) -> None:
        # The last step's picture is the result itself, moments later.
        if step >= total or not (side := sink.wanted()):
            return
        try:
            picture = fitted(self.latent_rgb(latents), self.size, self.size, side)
        except Exception:  # noqa: BLE001 - a preview is never worth a job
            log.warning("preview failed at step %d", step, exc_info=True)
            return
        sink.show(step, total, picture)
