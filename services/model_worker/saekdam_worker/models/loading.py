"""Loading the GPU jobs' models: local files only, once per process.

A source is a local folder or a Hugging Face id looked up in MODEL_DIR's hub cache. Nothing is
fetched at run time; a missing model raises ModelUnavailable saying how to get it. Heavy
imports (torch, diffusers) happen inside the functions, so a CPU-only worker never pays them.
"""

import json
import logging
from pathlib import Path
from typing import Any

from ..errors import JobError
from .settings import ModelSettings

log = logging.getLogger(__name__)

DOWNLOAD_HINT = "run `make download-models` (or `python -m saekdam_worker.models.download`)"

SAM_CHECKPOINT_FILES = {
    "vit_b": "sam_vit_b_01ec64.pth",
    "vit_l": "sam_vit_l_0b3195.pth",
    "vit_h": "sam_vit_h_4b8939.pth",
}
# The image encoder sizes of the official SAM checkpoints (segment_anything.build_sam).
SAM_ARCHITECTURES = {
    "vit_b": {"embed_dim": 768, "depth": 12, "num_heads": 12, "global_attn_indexes": [2, 5, 8, 11]},
    "vit_l": {
        "embed_dim": 1024,
        "depth": 24,
        "num_heads": 16,
        "global_attn_indexes": [5, 11, 17, 23],
    },
    "vit_h": {
        "embed_dim": 1280,
        "depth": 32,
        "num_heads": 16,
        "global_attn_indexes": [7, 15, 23, 31],
    },
}


class ModelUnavailable(JobError):
    def __init__(self, what: str, source: str, reason: str):
        super().__init__(
            "model_unavailable",
            f"the {what} model ({source}) is not available on this worker: {reason}; "
            f"{DOWNLOAD_HINT}, or point the setting at a local folder",
        )


def hub_cache(settings: ModelSettings) -> Path:
    return Path(settings.model_dir) / "hub"


def source_kwargs(source: str, settings: ModelSettings) -> tuple[str, dict[str, Any]]:
    """`from_pretrained` arguments for a local folder or a (cached, never fetched) hub id."""
    if Path(source).is_dir():
        return source, {}
    return source, {"cache_dir": str(hub_cache(settings)), "local_files_only": True}


def pick_device(preference: str):
    import torch

    if preference == "cuda" and not torch.cuda.is_available():
        raise JobError(
            "device_unavailable",
            "DEVICE=cuda but CUDA is not available on this worker; set DEVICE=auto or cpu",
        )
    if preference != "auto":
        return torch.device(preference)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def dtype_for(device):
    import torch

    # fp16 halves memory and doubles speed on CUDA; CPU kernels want fp32.
    return torch.float16 if device.type == "cuda" else torch.float32


def _load(what: str, source: str, loader, settings: ModelSettings, **kwargs):
    path, extra = source_kwargs(source, settings)
    try:
        return loader(path, **extra, **kwargs)
    except (OSError, ValueError, FileNotFoundError) as exc:
        raise ModelUnavailable(what, source, str(exc).splitlines()[0]) from exc


def _place(pipe, device, settings: ModelSettings):
    pipe.set_progress_bar_config(disable=True)
    if settings.attention_slicing:
        pipe.enable_attention_slicing()
    if settings.cpu_offload and device.type == "cuda":
        pipe.enable_model_cpu_offload()
    else:
        pipe.to(device)
    return pipe


def read_inpaint_pipeline(settings: ModelSettings, dtype):
    """The inpainting pipeline from `settings.inpaint_model`, in `dtype`, not yet placed on a
    device (theme training takes its parts from here too)."""
    from diffusers import StableDiffusionInpaintPipeline

    return _load(
        "inpainting",
        settings.inpaint_model,
        StableDiffusionInpaintPipeline.from_pretrained,
        settings,
        dtype=dtype,
        safety_checker=None,
        requires_safety_checker=False,
    )


def load_inpaint_pipeline(settings: ModelSettings, device):
    return _place(read_inpaint_pipeline(settings, dtype_for(device)), device, settings)


def load_theme_adapters(pipe, settings: ModelSettings, themes: list[str]) -> list[str]:
    """Load each theme's LoRA once, as an adapter named after the theme. Returns those loaded."""
    loaded = []
    for theme in themes:
        folder = Path(settings.lora_dir) / theme
        if not folder.is_dir():
            continue
        try:
            pipe.load_lora_weights(str(folder), adapter_name=theme)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            # One broken adapter must not take every other theme down with it.
            log.error("theme %s: adapter in %s not loaded: %s", theme, folder, exc)
            continue
        loaded.append(theme)
    if loaded:
        log.info("theme adapters loaded: %s", ", ".join(loaded))
    return loaded


def load_sketch_pipeline(settings: ModelSettings, device):
    from diffusers import (
        AutoencoderKL,
        EulerAncestralDiscreteScheduler,
        StableDiffusionXLAdapterPipeline,
        T2IAdapter,
    )

    dtype = dtype_for(device)
    adapter = _load(
        "sketch adapter",
        settings.sketch_adapter,
        T2IAdapter.from_pretrained,
        settings,
        dtype=dtype,
    )
    vae = _load("SDXL VAE", settings.sdxl_vae, AutoencoderKL.from_pretrained, settings, dtype=dtype)
    pipe = _load(
        "SDXL base",
        settings.sdxl_model,
        StableDiffusionXLAdapterPipeline.from_pretrained,
        settings,
        adapter=adapter,
        vae=vae,
        dtype=dtype,
    )
    pipe.scheduler = EulerAncestralDiscreteScheduler.from_config(pipe.scheduler.config)
    return _place(pipe, device, settings)


def load_preview_decoder(source: str, settings: ModelSettings, device):
    """An AutoencoderTiny (TAESD, TAESDXL) for previews, from local files like the rest."""
    from diffusers import AutoencoderTiny

    vae = _load("preview decoder", source, AutoencoderTiny.from_pretrained, settings)
    return vae.to(device, dtype_for(device)).eval()


def sam_checkpoint_path(settings: ModelSettings) -> Path:
    if settings.sam_checkpoint:
        return Path(settings.sam_checkpoint)
    return Path(settings.model_dir) / "sam" / SAM_CHECKPOINT_FILES[settings.sam_model_type]


def load_sam(settings: ModelSettings, device):
    """SAM from a checkpoint file. A `sam_config.json` beside it describes a non-official
    image encoder (embed_dim, depth, num_heads, global_attn_indexes), e.g. a distilled one."""
    from segment_anything.build_sam import _build_sam

    checkpoint = sam_checkpoint_path(settings)
    if not checkpoint.is_file():
        raise ModelUnavailable("Segment Anything", str(checkpoint), "no checkpoint file there")
    config_file = checkpoint.with_name("sam_config.json")
    arch = (
        json.loads(config_file.read_text())
        if config_file.is_file()
        else SAM_ARCHITECTURES[settings.sam_model_type]
    )
    try:
        sam = _build_sam(
            encoder_embed_dim=arch["embed_dim"],
            encoder_depth=arch["depth"],
            encoder_num_heads=arch["num_heads"],
            encoder_global_attn_indexes=arch["global_attn_indexes"],
            checkpoint=str(checkpoint),
        )
    except (OSError, RuntimeError, KeyError) as exc:
        raise ModelUnavailable(
            "Segment Anything", str(checkpoint), str(exc).splitlines()[0]
        ) from exc
    return sam.to(device).eval()
