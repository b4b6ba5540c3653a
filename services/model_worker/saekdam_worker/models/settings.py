"""Where the GPU jobs' weights come from."""

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ModelSettings(BaseSettings):
    """Where the GPU jobs' weights come from. Each source is a Hugging Face id (looked up in
    MODEL_DIR, never fetched at run time: `make download-models` fetches) or a local folder."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    model_dir: str = "var/models"
    inpaint_model: str = "stable-diffusion-v1-5/stable-diffusion-inpainting"
    sdxl_model: str = "stabilityai/stable-diffusion-xl-base-1.0"
    sdxl_vae: str = "madebyollin/sdxl-vae-fp16-fix"
    sketch_adapter: str = "TencentARC/t2i-adapter-sketch-sdxl-1.0"
    # Tiny autoencoders for live previews, used when present (else a linear projection);
    # empty turns them off.
    taesd_model: str = "madebyollin/taesd"
    taesdxl_model: str = "madebyollin/taesdxl"
    sam_model_type: Literal["vit_b", "vit_l", "vit_h"] = "vit_b"
    # A file path; empty means MODEL_DIR/sam/<the official file name for the type>.
    sam_checkpoint: str = ""
    # One folder per theme (animals/, ocean/, ...), each a diffusers LoRA save.
    lora_dir: str = "var/models/lora"
    device: Literal["auto", "cuda", "mps", "cpu"] = "auto"
    attention_slicing: bool = False
    cpu_offload: bool = False
    mural_max_side: int = Field(default=768, ge=64, le=2048)
    sketch_size: int = Field(default=1024, ge=64, le=2048)
