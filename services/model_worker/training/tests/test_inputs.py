"""The training inputs are the tensors the inpainting pipeline hands its UNet at inference."""

import numpy as np
import pytest
import torch
from skimage import data as skdata

from saekdam_training.inputs import inpaint_inputs, unet_input
from saekdam_worker.pipelines.mural import working_size
from saekdam_worker.pipelines.wall_mask import wall_alpha
from tests.fixtures.tiny_models.inpaint import build_tiny_inpaint

SIZE = 64


@pytest.fixture(scope="module")
def pipe():
    pipe = build_tiny_inpaint()
    pipe.set_progress_bar_config(disable=True)
    return pipe


def photo_and_alpha():
    photo = np.ascontiguousarray(skdata.astronaut()[::8, ::8])  # 64x64
    wall = np.zeros((SIZE, SIZE), dtype=bool)
    wall[8:40, 16:56] = True
    return photo, wall_alpha(wall)


def test_mask_and_masked_image_latents_match_what_the_pipeline_gives_its_unet(pipe):
    photo, alpha = photo_and_alpha()
    from PIL import Image

    from saekdam_worker.pipelines.mural import model_mask

    seen = {}

    def capture(pipeline, step, timestep, tensors):
        seen.update({k: v.clone() for k, v in tensors.items()})
        return tensors

    seed = 1234
    pipe(
        prompt="a mural",
        image=Image.fromarray(photo),
        mask_image=Image.fromarray(model_mask(alpha, (SIZE, SIZE))),
        width=SIZE,
        height=SIZE,
        num_inference_steps=1,
        guidance_scale=1.0,  # no doubled batch
        generator=torch.Generator().manual_seed(seed),
        callback_on_step_end=capture,
        callback_on_step_end_tensor_inputs=["mask", "masked_image_latents"],
    )
    # The pipeline draws its starting noise, then samples the VAE with the same generator.
    generator = torch.Generator().manual_seed(seed)
    torch.randn((1, 4, SIZE // 8, SIZE // 8), generator=generator)
    inputs = inpaint_inputs(pipe, [photo], [alpha], generator=generator)

    assert torch.equal(inputs.mask, seen["mask"])
    assert torch.allclose(inputs.masked_image_latents, seen["masked_image_latents"], atol=1e-6)
    assert inputs.mask.shape == (1, 1, SIZE // 8, SIZE // 8)
    # 1 over the wall (and its feather), 0 elsewhere.
    assert set(inputs.mask.unique().tolist()) == {0.0, 1.0}


def test_the_unet_gets_nine_channels_in_the_pipelines_order(pipe):
    photo, alpha = photo_and_alpha()
    inputs = inpaint_inputs(pipe, [photo, photo], [alpha, alpha])
    noisy = torch.randn_like(inputs.latents)
    stacked = unet_input(noisy, inputs)
    assert stacked.shape == (2, 9, SIZE // 8, SIZE // 8)
    assert torch.equal(stacked[:, :4], noisy)
    assert torch.equal(stacked[:, 4:5], inputs.mask)
    assert pipe.unet.config.in_channels == stacked.shape[1]


def test_a_batch_needs_one_size_and_one_alpha_per_image(pipe):
    photo, alpha = photo_and_alpha()
    with pytest.raises(ValueError, match="one alpha per image"):
        inpaint_inputs(pipe, [photo], [])
    small = photo[:32, :32]
    with pytest.raises(ValueError, match="same size"):
        inpaint_inputs(pipe, [photo, small], [alpha, alpha[:32, :32]])
    assert working_size(SIZE, SIZE) == (SIZE, SIZE)
