"""Mural painting: a themed Stable Diffusion inpaint of the wall, blended back into the photo.

Pure model code: arrays in, arrays out. One StableDiffusionInpaintPipeline serves every theme;
each theme is a LoRA adapter loaded once under the theme's name
(`models.loading.load_theme_adapters`) and selected per job. Diffusion runs at a working size
(multiples of 8, long side capped); the result is composited at the photo's full resolution
through the feathered wall mask, so every pixel outside the mask is the photo's own.

Not thread-safe: diffusers pipelines keep scheduler and adapter state, so one painter per
process, one `denoise` at a time (`prepare` and `composite` touch no model state).
"""

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from .latent_rgb import LinearLatentRGB
from .previews import PreviewSink, WallBackdrop
from .prompts import CUSTOM, DEFAULT_NEGATIVE_PROMPT, THEMES, theme_prompt

log = logging.getLogger(__name__)

# The VAE downsamples by 8: the pipeline refuses sizes that are not multiples of it.
SIZE_MULTIPLE = 8
MIN_SIDE = 64
DEFAULT_MAX_SIDE = 768
MAX_SEED = 2**32 - 1
# Float blurs overshoot by an ulp or so (a Gaussian-feathered mask peaks at 1.0000001): that
# much is rounding, clipped away; anything further out of [0, 1] is a caller's bug.
ALPHA_TOLERANCE = 1e-4

# on_step(step, total): step counts from 1 to total, once per denoising step.
StepCallback = Callable[[int, int], None]
# on_latents(step, total, latents): the same, with the latents after that step.
LatentsCallback = Callable[[int, int, object], None]


class MissingThemeAdapter(ValueError):
    """The theme is valid but this worker has no LoRA for it. Painting it without its adapter
    would hand back an unstyled mural as if it were the theme, so the job fails instead."""

    def __init__(self, theme: str, available: list[str]):
        super().__init__(
            f"no LoRA adapter is loaded for theme {theme!r} "
            f"(themes this worker can paint: {', '.join(available)})"
        )
        self.theme = theme


@dataclass
class MuralRequest:
    # HxWx3 uint8 RGB, the photo at full resolution.
    image: np.ndarray
    # HxW float in [0, 1], the feathered wall mask at the photo's resolution; 0 keeps the photo.
    alpha: np.ndarray
    theme: str
    prompt: str = ""
    # None means DEFAULT_NEGATIVE_PROMPT; "" means no negative prompt at all.
    negative_prompt: str | None = None
    # None picks a random one; the one used comes back in MuralResult.
    seed: int | None = None
    steps: int = 30
    strength: float = 1.0
    guidance: float = 7.5
    lora_scale: float = 1.0

    @classmethod
    def from_params(cls, image: np.ndarray, alpha: np.ndarray, params) -> "MuralRequest":
        """From validated MuralParams (anything with the same attribute names)."""
        return cls(
            image=image,
            alpha=alpha,
            theme=params.theme,
            prompt=params.prompt,
            negative_prompt=params.negative_prompt,
            seed=params.seed,
            steps=params.steps,
            strength=params.strength,
            guidance=params.guidance,
            lora_scale=params.lora_scale,
        )


@dataclass
class MuralResult:
    # HxWx3 uint8 RGB, the photo's size.
    image: np.ndarray
    seed: int


@dataclass
class PreparedMural:
    request: MuralRequest
    # The clipped full-resolution mask, the seed to use, and photo and mask at the working size.
    alpha: np.ndarray
    seed: int
    size: tuple[int, int]
    image: Image.Image
    mask: Image.Image


def working_size(width: int, height: int, max_side: int = DEFAULT_MAX_SIDE) -> tuple[int, int]:
    """The size diffusion runs at: the aspect kept, the long side at most `max_side` (never
    enlarged past the photo's own), each side the nearest multiple of 8, at least 64."""
    if width < 1 or height < 1:
        raise ValueError(f"image size has to be positive but is {width}x{height}")
    if max_side < MIN_SIDE:
        raise ValueError(f"`max_side` has to be at least {MIN_SIDE} but is {max_side}")
    cap = max_side // SIZE_MULTIPLE * SIZE_MULTIPLE
    scale = min(1.0, max_side / max(width, height))

    def snap(side: int) -> int:
        # int(x + 0.5), not round(): Python's round() sends halves to even, 37.5 -> 38 but
        # 36.5 -> 36, which would make the rounding depend on the parity of the photo's size.
        nearest = int(side * scale / SIZE_MULTIPLE + 0.5) * SIZE_MULTIPLE
        return min(cap, max(MIN_SIDE, nearest))

    return snap(width), snap(height)


class MuralPainter:
    """Paints murals with one inpainting pipeline and its theme adapters.

    Args:
        pipe: a StableDiffusionInpaintPipeline (9-channel inpainting UNet), already on its device.
        adapters: the themes whose LoRA is loaded in `pipe` under the theme's own name.
        max_side: the working size's long side cap.
        latent_rgb: latents -> uint8 RGB for live previews (`latent_rgb.LinearLatentRGB` for
            SD 1.x latents unless given, e.g. a TAESD `TinyAutoencoderRGB`).
    """

    def __init__(
        self, pipe, adapters: list[str], max_side: int = DEFAULT_MAX_SIDE, latent_rgb=None
    ):
        if max_side < MIN_SIDE:
            raise ValueError(f"`max_side` has to be at least {MIN_SIDE} but is {max_side}")
        self.pipe = pipe
        self.adapters = list(adapters)
        self.max_side = max_side
        self.latent_rgb = latent_rgb or LinearLatentRGB.sd15()

    @property
    def themes(self) -> list[str]:
        """The themes this painter can paint: `custom` and every theme with its adapter."""
        return [theme for theme in THEMES if theme == CUSTOM or theme in self.adapters]

    def check_inputs(self, request: MuralRequest) -> None:
        _check_image_and_alpha(request.image, request.alpha)
        _check_params(request)
        if request.theme not in THEMES:
            raise ValueError(
                f"`theme` has to be one of {', '.join(THEMES)} but is {request.theme!r}"
            )
        if request.theme != CUSTOM and request.theme not in self.adapters:
            raise MissingThemeAdapter(request.theme, self.themes)

    def paint(
        self,
        request: MuralRequest,
        on_step: StepCallback | None = None,
        preview: PreviewSink | None = None,
    ) -> MuralResult:
        """Paint the masked wall of `request.image` in the request's theme: `prepare`,
        `denoise` and `composite` in turn (a worker runs the first and last beside another
        job's denoise, so the pipeline never waits for them)."""
        prepared = self.prepare(request)
        return self.composite(prepared, self.denoise(prepared, on_step, preview))

    def prepare(self, request: MuralRequest) -> "PreparedMural":
        """Check the request and bring photo and mask to the working size. CPU only: safe
        beside another job's `denoise`."""
        # 1. Check inputs, before any model work.
        self.check_inputs(request)

        # 2. Pick the seed, and return it, so any run can be repeated.
        seed = secrets.randbelow(MAX_SEED + 1) if request.seed is None else request.seed

        # 3. The photo and the mask at the working size.
        alpha = np.clip(request.alpha, 0.0, 1.0)
        height, width = alpha.shape
        size = working_size(width, height, self.max_side)
        return PreparedMural(
            request=request,
            alpha=alpha,
            seed=seed,
            size=size,
            image=Image.fromarray(_resize(request.image, size)),
            mask=Image.fromarray(model_mask(alpha, size)),
        )

    def denoise(
        self,
        prepared: "PreparedMural",
        on_step: StepCallback | None = None,
        preview: PreviewSink | None = None,
    ) -> np.ndarray:
        """The pipeline's part: float RGB in [0, 1] at the working size.

        `on_step(step, total)` runs after every denoising step. Whatever it raises (a cancel,
        say) propagates at once: the loop stops within one step and nothing is returned.
        After it, when `preview` wants one, the latents so far go to `preview.show` as a
        picture on the photo's wall; a failing preview is logged, never the job's end.
        """
        request = prepared.request
        # 1. Select the theme's adapter for this job (or none for `custom`).
        self._select_adapter(request.theme, request.lora_scale)

        # 2. Denoise.
        negative = request.negative_prompt
        try:
            return self.pipe(
                prompt=theme_prompt(request.theme, request.prompt),
                negative_prompt=DEFAULT_NEGATIVE_PROMPT if negative is None else negative,
                image=prepared.image,
                mask_image=prepared.mask,
                width=prepared.size[0],
                height=prepared.size[1],
                num_inference_steps=request.steps,
                strength=request.strength,
                guidance_scale=request.guidance,
                generator=_generator(prepared.seed),
                output_type="np",
                callback_on_step_end=_step_callback(on_step, self._previewer(request, preview)),
            ).images[0]
        finally:
            # A run stopped mid-loop skips the pipeline's own clean-up; with CPU offload that
            # would leave the UNet on the GPU for the next job.
            self.pipe.maybe_free_model_hooks()

    @staticmethod
    def composite(prepared: "PreparedMural", generated: np.ndarray) -> MuralResult:
        """Blend the denoised picture into the photo at its full resolution. CPU only."""
        height, width = prepared.alpha.shape
        full = np.clip(_resize(generated, (width, height)), 0.0, 1.0) * 255.0
        image = composite(prepared.request.image, full, prepared.alpha)
        return MuralResult(image=image, seed=prepared.seed)

    def _previewer(self, request: MuralRequest, sink: PreviewSink | None):
        if sink is None:
            return None
        backdrop = WallBackdrop(request.image, np.clip(request.alpha, 0.0, 1.0))

        def on_latents(step: int, total: int, latents) -> None:
            # The last step's picture is the result itself, moments later.
            if step >= total or not (side := sink.wanted()):
                return
            try:
                picture = backdrop.paste(self.latent_rgb(latents), side)
            except Exception:  # noqa: BLE001 - a preview is never worth a job
                log.warning("preview failed at step %d", step, exc_info=True)
                return
            sink.show(step, total, picture)

        return on_latents

    def _select_adapter(self, theme: str, lora_scale: float) -> None:
        """Adapter state lives in the pipeline and outlasts the job (and a job stopped halfway),
        so every job sets it from scratch rather than undoing the previous job's choice."""
        if not self.adapters:
            return
        if theme == CUSTOM:
            self.pipe.disable_lora()
            return
        # set_adapters does not undo disable_lora: the layers stay bypassed until re-enabled.
        self.pipe.enable_lora()
        self.pipe.set_adapters([theme], adapter_weights=[lora_scale])


def composite(photo: np.ndarray, generated: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """alpha * generated + (1 - alpha) * photo, in float, as uint8.

    Written as photo + alpha * (generated - photo): where alpha is 0 that is photo + 0, exact,
    so those pixels come back bit-identical to the photo; they are copied as they are, and
    only the box around the wall is computed (a fraction of a 12 MP photo's cost)."""
    out = photo.copy()
    box = _nonzero_box(alpha)
    if box is None:
        return out
    base = photo[box].astype(np.float32)
    blended = base + alpha[box].astype(np.float32)[..., None] * (
        generated[box].astype(np.float32) - base
    )
    out[box] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return out


def _nonzero_box(alpha: np.ndarray) -> tuple[slice, slice] | None:
    """The smallest (rows, columns) box holding every alpha > 0, or None if there is none."""
    rows, columns = np.flatnonzero(alpha.any(axis=1)), np.flatnonzero(alpha.any(axis=0))
    if rows.size == 0:
        return None
    return slice(rows[0], rows[-1] + 1), slice(columns[0], columns[-1] + 1)


def _check_image_and_alpha(image, alpha) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        kind = getattr(image, "dtype", type(image).__name__)
        raise ValueError(f"`image` has to be a uint8 numpy array but is {kind}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"`image` has to be HxWx3 (RGB) but has shape {image.shape}")
    if not isinstance(alpha, np.ndarray) or not np.issubdtype(alpha.dtype, np.floating):
        kind = getattr(alpha, "dtype", type(alpha).__name__)
        raise ValueError(f"`alpha` has to be a float numpy array but is {kind}")
    if alpha.shape != image.shape[:2]:
        raise ValueError(
            f"`alpha` has to match the image's height and width {image.shape[:2]} "
            f"but has shape {alpha.shape}"
        )
    if not np.isfinite(alpha).all():
        raise ValueError("`alpha` has to be finite but contains NaN or infinity")
    low, high = float(alpha.min()), float(alpha.max())
    if low < -ALPHA_TOLERANCE or high > 1.0 + ALPHA_TOLERANCE:
        raise ValueError(f"`alpha` has to be within [0, 1] but ranges over [{low}, {high}]")
    if high <= 0.0:
        # The mask step reports a missing wall itself; an empty mask here is a caller's bug.
        raise ValueError("`alpha` is 0 everywhere: there is no wall to paint")


def _check_params(request: MuralRequest) -> None:
    steps, strength = request.steps, request.strength
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"`steps` has to be a positive integer but is {steps!r}")
    if not 0.0 < strength <= 1.0:
        raise ValueError(f"`strength` has to be in (0, 1] but is {strength}")
    # Diffusers runs int(steps * strength) steps and fails (late) when that is 0.
    if int(steps * strength) < 1:
        raise ValueError(
            f"`steps` * `strength` has to be at least 1 but is {steps} * {strength} "
            f"= {steps * strength}"
        )
    if not np.isfinite(request.guidance) or request.guidance < 0:
        raise ValueError(f"`guidance` has to be a finite number >= 0 but is {request.guidance}")
    if not np.isfinite(request.lora_scale) or request.lora_scale < 0:
        raise ValueError(f"`lora_scale` has to be a finite number >= 0 but is {request.lora_scale}")
    seed = request.seed
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED
    ):
        raise ValueError(f"`seed` has to be None or an integer in [0, {MAX_SEED}] but is {seed!r}")
    if not isinstance(request.prompt, str):
        raise ValueError(f"`prompt` has to be a string but is {type(request.prompt).__name__}")
    negative = request.negative_prompt
    if negative is not None and not isinstance(negative, str):
        raise ValueError(
            f"`negative_prompt` has to be None or a string but is {type(negative).__name__}"
        )


def _resize(array: np.ndarray, size: tuple[int, int], enlarge: int = cv2.INTER_CUBIC) -> np.ndarray:
    """Resize to (width, height): area averaging to shrink (no aliasing on brick patterns),
    `enlarge` (cubic by default) to enlarge."""
    height, width = array.shape[:2]
    if (width, height) == size:
        return array
    shrinking = size[0] * size[1] < width * height
    return cv2.resize(array, size, interpolation=cv2.INTER_AREA if shrinking else enlarge)


def model_mask(alpha: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The pipeline's binary mask (255 = repaint): everywhere alpha is above 0, feather
    included, so the feather fades the mural into the photo, not into the VAE's blurry
    reconstruction of the photo."""
    # Linear, not cubic: cubic rings, and its small lobes beyond an edge would count as > 0.
    small = _resize(alpha.astype(np.float32), size, enlarge=cv2.INTER_LINEAR)
    return np.where(small > 0, 255, 0).astype(np.uint8)


def _generator(seed: int):
    import torch

    # A CPU generator draws the same starting noise on every device (diffusers' advice for
    # reproducible seeds): a seed means the same mural on a CUDA worker and in a CPU test.
    return torch.Generator(device="cpu").manual_seed(seed)


def _step_callback(on_step: StepCallback | None, on_latents: LatentsCallback | None):
    if on_step is None and on_latents is None:
        return None

    def callback(pipe, step_index, timestep, tensors):
        # num_timesteps is the loop's real length: steps * strength, after the scheduler's own
        # adjustments, so the last call always reports total/total.
        if on_step is not None:
            on_step(step_index + 1, pipe.num_timesteps)
        if on_latents is not None:
            on_latents(step_index + 1, pipe.num_timesteps, tensors["latents"])
        return tensors

    return callback
