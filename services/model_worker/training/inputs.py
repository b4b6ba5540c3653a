"""The 9-channel inpainting UNet's inputs for training, built exactly as the pipeline builds
them at inference.

At inference (`StableDiffusionInpaintPipeline.__call__`, the worker's `MuralPainter.denoise`)
the UNet sees `cat([noisy latents, mask, masked-image latents])`, where
- the mask is the worker's binary mask (`pipelines.mural.model_mask`: 1 wherever the
  feathered wall alpha is above 0) through the pipeline's `mask_processor`, then resized to the
  latent grid by `prepare_mask_latents`;
- the masked image is the photo through the pipeline's `image_processor` (in [-1, 1]) with the
  masked pixels set to 0, encoded by the VAE and scaled by its `scaling_factor`.
Training calls those same pipeline methods instead of re-implementing them, so a diffusers
upgrade that changes one changes both (tests/test_inputs.py compares the tensors with what
a real pipeline run hands its UNet).
"""

from dataclasses import dataclass

import numpy as np
from PIL import Image

from saekdam_worker.pipelines.mural import model_mask


@dataclass
class InpaintInputs:
    """One batch's conditioning: tensors of shape (B, C, H/8, W/8) on the VAE's device."""

    # The clean picture's latents (what noise is added to), scaled like the pipeline's.
    latents: "object"
    # 1 = repaint, at the latent grid.
    mask: "object"
    masked_image_latents: "object"


def unet_input(noisy_latents, inputs: InpaintInputs):
    """What the UNet is called with: the pipeline's channel order (latents, mask, masked)."""
    import torch

    return torch.cat([noisy_latents, inputs.mask, inputs.masked_image_latents], dim=1)


def inpaint_inputs(pipe, images: list[np.ndarray], alphas: list[np.ndarray], generator=None):
    """The conditioning for `images` (HxWx3 uint8, one size) and their wall `alphas` (HxW float
    in [0, 1]), through `pipe`'s own processors and `prepare_mask_latents`.

    `generator` drives the VAE's sampling as it does in the pipeline (None: fresh noise)."""
    import torch

    if not images or len(images) != len(alphas):
        raise ValueError("need one alpha per image, and at least one image")
    height, width = images[0].shape[:2]
    if any(image.shape[:2] != (height, width) for image in images):
        raise ValueError("every image of a batch has to have the same size")
    vae = pipe.vae
    device, dtype = vae.device, vae.dtype
    pictures = [Image.fromarray(image) for image in images]
    masks = [Image.fromarray(model_mask(alpha, (width, height))) for alpha in alphas]

    init_image = pipe.image_processor.preprocess(pictures, height=height, width=width)
    init_image = init_image.to(dtype=torch.float32)
    mask_condition = pipe.mask_processor.preprocess(masks, height=height, width=width)
    masked_image = init_image * (mask_condition < 0.5)
    mask, masked_image_latents = pipe.prepare_mask_latents(
        mask_condition,
        masked_image,
        len(images),
        height,
        width,
        dtype,
        device,
        generator,
        False,  # no classifier-free guidance doubling in training
    )
    latents = pipe._encode_vae_image(init_image.to(device=device, dtype=dtype), generator=generator)
    return InpaintInputs(latents=latents, mask=mask, masked_image_latents=masked_image_latents)
