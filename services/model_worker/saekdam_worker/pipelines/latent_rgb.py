"""Latents -> a small RGB picture, for live previews of a denoise in progress.

Two ways, both pure (a tensor in, a uint8 array out):
- `LinearLatentRGB`: each pixel's 4 latent channels times a 4x3 matrix, plus a bias. No
  weights, a fraction of a millisecond, one pixel per latent (1/8 of the image's side). The
  factors are the well-known least-squares fits of the VAE's decoded colours (as ComfyUI's
  latent formats carry them), for latents as the UNet sees them (already times the VAE's
  scaling factor); the result, in [-1, 1], maps to [0, 255].
- `TinyAutoencoderRGB`: diffusers' `AutoencoderTiny` (TAESD for SD 1.x, TAESDXL for SDXL), a
  distilled decoder: full-size, recognisable pictures for a few milliseconds on a GPU.
"""

import numpy as np

# Rows: latent channels 0..3; columns: R, G, B.
SD15_FACTORS = (
    (0.3512, 0.2297, 0.3227),
    (0.3250, 0.4974, 0.2350),
    (-0.2829, 0.1762, 0.2721),
    (-0.2120, -0.2616, -0.7177),
)
SD15_BIAS = (0.0, 0.0, 0.0)
SDXL_FACTORS = (
    (0.3651, 0.4232, 0.4341),
    (-0.2533, -0.0042, 0.1068),
    (0.1076, 0.1111, -0.0362),
    (-0.3165, -0.2492, -0.2188),
)
SDXL_BIAS = (0.1084, -0.0175, -0.0011)


def _first_image(latents):
    """(C, H, W) of the batch's first image, as float32 (fp16 matmuls lose the colours)."""
    if latents.ndim == 4:
        latents = latents[0]
    if latents.ndim != 3:
        raise ValueError(f"`latents` has to be (B, C, H, W) or (C, H, W) but is {latents.shape}")
    return latents.detach().float()


def _to_uint8(signed) -> np.ndarray:
    """(H, W, 3) in [-1, 1] -> uint8 RGB."""
    unit = ((signed + 1.0) / 2.0).clamp(0.0, 1.0)
    return (unit * 255.0).round().cpu().numpy().astype(np.uint8)


class LinearLatentRGB:
    """latents (B, 4, h, w) -> uint8 RGB (h, w, 3), one pixel per latent."""

    def __init__(self, factors=SD15_FACTORS, bias=SD15_BIAS):
        self.factors = np.asarray(factors, dtype=np.float32)
        self.bias = np.asarray(bias, dtype=np.float32)
        if self.factors.ndim != 2 or self.factors.shape[1] != 3:
            raise ValueError(f"`factors` has to be (channels, 3) but is {self.factors.shape}")
        if self.bias.shape != (3,):
            raise ValueError(f"`bias` has to have 3 values but has shape {self.bias.shape}")

    @classmethod
    def sd15(cls) -> "LinearLatentRGB":
        return cls(SD15_FACTORS, SD15_BIAS)

    @classmethod
    def sdxl(cls) -> "LinearLatentRGB":
        return cls(SDXL_FACTORS, SDXL_BIAS)

    def __call__(self, latents) -> np.ndarray:
        import torch

        image = _first_image(latents)
        channels = self.factors.shape[0]
        if image.shape[0] != channels:
            raise ValueError(
                f"`latents` has to have {channels} channels for these factors "
                f"but has {image.shape[0]}"
            )
        factors = torch.from_numpy(self.factors).to(image.device)
        bias = torch.from_numpy(self.bias).to(image.device)
        return _to_uint8(torch.einsum("chw,cr->hwr", image, factors) + bias)


class TinyAutoencoderRGB:
    """latents -> uint8 RGB at the image's own size, through an `AutoencoderTiny` decoder."""

    def __init__(self, vae):
        self.vae = vae

    def __call__(self, latents) -> np.ndarray:
        import torch

        image = _first_image(latents)
        param = next(self.vae.parameters())
        with torch.no_grad():
            # TAESD takes the UNet's latents as they are (its scaling_factor is 1.0).
            scaled = image[None].to(param.device, param.dtype) / self.vae.config.scaling_factor
            decoded = self.vae.decode(scaled).sample[0].float()
        return _to_uint8(decoded.permute(1, 2, 0))
