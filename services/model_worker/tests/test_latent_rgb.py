"""Latents -> preview pictures: the linear projection, and TAESD when its weights are present
(a tiny AutoencoderTiny built here, saved and loaded back through the production loader)."""

import numpy as np
import pytest
import torch
from diffusers import AutoencoderTiny

from saekdam_worker.models.manager import ModelManager
from saekdam_worker.models.settings import ModelSettings
from saekdam_worker.pipelines.latent_rgb import (
    SD15_FACTORS,
    SDXL_BIAS,
    LinearLatentRGB,
    TinyAutoencoderRGB,
)


def test_linear_projection_gives_one_rgb_pixel_per_latent():
    latents = torch.randn(1, 4, 12, 20, generator=torch.Generator().manual_seed(0))
    picture = LinearLatentRGB.sd15()(latents)
    assert picture.shape == (12, 20, 3) and picture.dtype == np.uint8


def test_linear_projection_is_the_factor_matrix_mapped_from_minus_one_one():
    latents = torch.zeros(1, 4, 2, 2)
    latents[0, 0] = 1.0  # channel 0 only: its row of factors
    picture = LinearLatentRGB.sd15()(latents)
    expected = np.rint((np.asarray(SD15_FACTORS[0]) + 1) / 2 * 255)
    assert np.array_equal(picture[0, 0], expected.astype(np.uint8))
    # SDXL's projection carries a bias: zero latents are not mid-grey.
    grey = LinearLatentRGB.sdxl()(torch.zeros(4, 1, 1))[0, 0]
    assert np.array_equal(grey, np.rint((np.asarray(SDXL_BIAS) + 1) / 2 * 255).astype(np.uint8))


def test_fp16_latents_are_projected_in_float32():
    latents = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    assert np.array_equal(
        LinearLatentRGB.sd15()(latents.half()), LinearLatentRGB.sd15()(latents.half().float())
    )


def test_latents_with_other_channel_counts_are_refused():
    with pytest.raises(ValueError, match="4 channels"):
        LinearLatentRGB.sd15()(torch.zeros(1, 16, 4, 4))
    with pytest.raises(ValueError, match="has to be"):
        LinearLatentRGB.sd15()(torch.zeros(4, 4))


def save_tiny_taesd(folder) -> str:
    torch.manual_seed(0)
    vae = AutoencoderTiny(
        encoder_block_out_channels=(8, 8),
        decoder_block_out_channels=(8, 8),
        num_encoder_blocks=(1, 1),
        num_decoder_blocks=(1, 1),
        latent_channels=4,
    )
    vae.save_pretrained(folder)
    return str(folder)


def test_taesd_is_used_for_previews_when_present_and_decodes_to_rgb(tmp_path):
    settings = ModelSettings(taesd_model=save_tiny_taesd(tmp_path / "taesd"), device="cpu")
    decoder = ModelManager(settings)._latent_rgb(settings.taesd_model, "sd15")
    assert isinstance(decoder, TinyAutoencoderRGB)
    picture = decoder(torch.randn(1, 4, 6, 10))
    # Two decoder blocks: one upsampling, twice the latent size.
    assert picture.shape == (12, 20, 3) and picture.dtype == np.uint8


def test_without_taesd_weights_previews_use_the_linear_projection(tmp_path):
    settings = ModelSettings(model_dir=str(tmp_path), device="cpu")  # an empty hub cache
    manager = ModelManager(settings)
    assert isinstance(manager._latent_rgb(settings.taesd_model, "sd15"), LinearLatentRGB)
    assert isinstance(manager._latent_rgb("", "sdxl"), LinearLatentRGB)


def test_a_broken_taesd_folder_falls_back_to_the_linear_projection(tmp_path):
    (tmp_path / "taesd").mkdir()
    (tmp_path / "taesd" / "config.json").write_text("{}")
    settings = ModelSettings(taesd_model=str(tmp_path / "taesd"), device="cpu")
    assert isinstance(
        ModelManager(settings)._latent_rgb(settings.taesd_model, "sd15"), LinearLatentRGB
    )
