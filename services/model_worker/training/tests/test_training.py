"""Theme training end to end on tiny models, offline: the adapter it makes is loaded by the
worker's own code and paints inside the wall only; resume, scale, bad input and Ctrl-C."""

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data as skdata

from saekdam_training import checkpoints
from saekdam_training.data import ThemeImages
from saekdam_training.train_theme_lora import main, parse_args
from saekdam_training.trainer import Trainer
from saekdam_worker.models.loading import load_inpaint_pipeline, load_theme_adapters
from saekdam_worker.models.settings import ModelSettings
from saekdam_worker.pipelines.mural import MuralPainter, MuralRequest
from saekdam_worker.pipelines.wall_mask import wall_alpha
from tests.fixtures.tiny_models.inpaint import save_tiny_inpaint

THEME = "ocean"
SIZE = 64


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return save_tiny_inpaint(tmp_path_factory.mktemp("tiny-inpaint") / "inpaint")


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """A handful of real photos, one with its own caption."""
    folder = tmp_path_factory.mktemp("photos")
    pictures = [
        skdata.astronaut(),
        skdata.coffee(),
        np.dstack([skdata.brick()] * 3),
        skdata.rocket(),
    ]
    for i, picture in enumerate(pictures):
        Image.fromarray(np.ascontiguousarray(picture)).resize((96, 96)).save(folder / f"p{i}.png")
    (folder / "p0.txt").write_text("waves over an astronaut")
    return folder


def flags(tiny_model: Path, photos: Path, output: Path, *extra: str) -> list[str]:
    return [
        "--theme", THEME,
        "--data_dir", str(photos),
        "--pretrained_model", str(tiny_model),
        "--output_dir", str(output),
        "--resolution", str(SIZE),
        "--mask_mix", "0,1,1",  # no SAM here: rectangles and strokes
        "--lr_warmup_steps", "0",
        "--learning_rate", "1e-2",
        "--cpu",
        *extra,
    ]  # fmt: skip


def train(argv: list[str]) -> int:
    return main(parse_args(argv))


def worker_painter(tiny_model: Path, lora_dir: Path) -> MuralPainter:
    """A fresh pipeline with the adapter, through the worker's own loading code."""
    settings = ModelSettings(inpaint_model=str(tiny_model), lora_dir=str(lora_dir), device="cpu")
    pipe = load_inpaint_pipeline(settings, torch.device("cpu"))
    return MuralPainter(pipe, load_theme_adapters(pipe, settings, [THEME]), max_side=SIZE)


def wall_photo():
    photo = np.ascontiguousarray(np.dstack([skdata.brick()] * 3)[:SIZE, :SIZE])
    wall = np.zeros((SIZE, SIZE), dtype=bool)
    wall[16:48, 8:40] = True
    return photo, wall_alpha(wall)


def lora_weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(folder / checkpoints.ADAPTER_WEIGHTS)


def test_a_few_steps_give_an_adapter_the_worker_loads_that_paints_inside_the_wall_only(
    tiny_model, photos, tmp_path
):
    lora_dir = tmp_path / "lora"
    assert train(flags(tiny_model, photos, lora_dir / THEME, "--max_train_steps", "3")) == 0

    record = json.loads((lora_dir / THEME / "training.json").read_text())
    assert record["steps"] == 3 and math.isfinite(record["final_loss"])
    assert len(record["data"]["hash"]) == 64 and record["data"]["images"] == 4
    assert record["settings"]["rank"] == 16

    painter = worker_painter(tiny_model, lora_dir)
    assert THEME in painter.themes
    photo, alpha = wall_photo()
    request = dict(image=photo, alpha=alpha, theme=THEME, seed=7, steps=2)
    base = painter.paint(MuralRequest(**request, lora_scale=0.0)).image
    themed = painter.paint(MuralRequest(**request, lora_scale=1.0)).image
    outside = alpha == 0
    assert np.array_equal(themed[outside], photo[outside])  # bit-identical off the wall
    assert np.array_equal(base[outside], photo[outside])
    assert np.abs(themed[~outside].astype(int) - base[~outside].astype(int)).max() > 0


class StopAfter:
    """Stands in for Ctrl-C: asked once `steps` optimizer steps are done."""

    def __init__(self, steps: int):
        self.left = steps

    @property
    def asked(self) -> bool:
        self.left -= 1
        return self.left <= 0


def test_four_steps_equal_two_then_a_resume_of_two(tiny_model, photos, tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert train(flags(tiny_model, photos, straight, "--max_train_steps", "4")) == 0

    args = parse_args(flags(tiny_model, photos, resumed, "--max_train_steps", "4"))
    images = ThemeImages(
        args.data_dir, THEME, SIZE, template=args.caption_template, trigger=args.trigger
    )
    assert Trainer(args, images).run(StopAfter(2)) == 130
    (only,) = checkpoints.list_checkpoints(resumed)
    assert json.loads((only / checkpoints.STATE_FILE).read_text())["step"] == 2
    assert not (resumed / checkpoints.ADAPTER_WEIGHTS).exists()  # no final adapter yet

    again = flags(tiny_model, photos, resumed, "--max_train_steps", "4")
    assert train([*again, "--resume_from_checkpoint", "latest"]) == 0
    a, b = lora_weights(straight), lora_weights(resumed)
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-5, atol=1e-6)
    first = json.loads((straight / "training.json").read_text())["final_loss"]
    second = json.loads((resumed / "training.json").read_text())["final_loss"]
    assert second == pytest.approx(first, rel=1e-5)


def test_cached_latents_encode_each_image_once_and_train(tiny_model, photos, tmp_path, monkeypatch):
    argv = flags(tiny_model, photos, tmp_path / "out", "--max_train_steps", "6")
    args = parse_args([*argv, "--cache_latents", "--fixed_masks"])
    images = ThemeImages(args.data_dir, THEME, SIZE, template=args.caption_template)
    trainer = Trainer(args, images)
    encoded = []
    original = Trainer._inputs

    def counting(self, positions, generator):
        before = len(self.cached)
        result = original(self, positions, generator)
        encoded.append(len(self.cached) - before)
        return result

    monkeypatch.setattr(Trainer, "_inputs", counting)
    assert trainer.run(StopAfter(10**6)) == 0
    assert sum(encoded) == len(images) == 4  # 6 batches, 4 images, each encoded once
    assert encoded[4:] == [0, 0]


def test_alpha_unlike_rank_reloads_at_its_scale(tiny_model, photos, tmp_path):
    lora_dir = tmp_path / "lora"
    extra = ("--max_train_steps", "1", "--rank", "4", "--alpha", "8")
    assert train(flags(tiny_model, photos, lora_dir / THEME, *extra)) == 0
    painter = worker_painter(tiny_model, lora_dir)
    scalings = {
        module.scaling[THEME]
        for module in painter.pipe.unet.modules()
        if hasattr(module, "scaling") and THEME in getattr(module, "scaling", {})
    }
    assert scalings == {2.0}  # alpha / rank, not 1


def test_validation_paints_the_base_model_and_the_adapter_on_fixed_walls(
    tiny_model, photos, tmp_path
):
    photo, alpha = wall_photo()
    Image.fromarray(photo).save(tmp_path / "wall.png")
    Image.fromarray(((alpha > 0.5) * 255).astype(np.uint8)).save(tmp_path / "wall-mask.png")
    out = tmp_path / "out"
    extra = (
        "--max_train_steps", "2",
        "--validation_images", str(tmp_path / "wall.png"),
        "--validation_masks", str(tmp_path / "wall-mask.png"),
        "--validation_steps", "2",
        "--validation_inference_steps", "2",
        "--snr_gamma", "5",
        "--gradient_accumulation_steps", "2",
    )  # fmt: skip
    assert train(flags(tiny_model, photos, out, *extra)) == 0
    grid = np.asarray(Image.open(out / "validation" / "step-000002.png"))
    assert grid.shape == (SIZE, 3 * SIZE, 3)  # photo | base | with the adapter
    photo_cell, base, themed = np.split(grid, 3, axis=1)
    assert np.array_equal(photo_cell, photo)
    outside = alpha == 0
    assert np.array_equal(base[outside], photo[outside])
    assert not np.array_equal(base, themed)


def test_text_encoder_training_is_refused_where_the_worker_could_not_load_it(
    tiny_model, photos, tmp_path, capsys
):
    from saekdam_training.train_theme_lora import text_encoder_lora_unsupported

    reason = text_encoder_lora_unsupported()
    argv = flags(tiny_model, photos, tmp_path / "out", "--train_text_encoder")
    if reason is None:  # a dependency set where transformers loads text-encoder adapters
        assert parse_args(argv).train_text_encoder
        return
    with pytest.raises(SystemExit):
        parse_args(argv)
    assert "peft >=" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--resolution", "60"), "multiple of 8"),
        (("--cache_latents",), "--fixed_masks"),
        (("--validation_images", "x.png"), "one mask per photo"),
        (("--mask_mix", "0,0,0"), "mask"),
        (("--rank", "0"), "--rank"),
    ],
)
def test_bad_flags_are_refused_with_a_reason(tiny_model, photos, tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit) as exited:
        parse_args(flags(tiny_model, photos, tmp_path / "out", *extra))
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_a_bad_data_folder_or_model_is_a_clear_error(tiny_model, photos, tmp_path, caplog):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert train(flags(tiny_model, empty, tmp_path / "out")) == 2
    assert "no images" in caplog.text.lower()
    (empty / "broken.png").write_bytes(b"not a picture")
    assert train(flags(tiny_model, empty, tmp_path / "out")) == 2
    assert "broken.png" in caplog.text
    missing = tmp_path / "no-such-model"
    assert (
        train([*flags(missing, photos, tmp_path / "out"), "--pretrained_model", str(missing)]) == 2
    )
    assert "download-models" in caplog.text
    assert not (tmp_path / "out" / checkpoints.ADAPTER_WEIGHTS).exists()


@pytest.mark.slow
def test_ctrl_c_stops_after_the_step_and_keeps_a_checkpoint_the_worker_can_load(
    tiny_model, photos, tmp_path
):
    out = tmp_path / "out"
    argv = flags(
        tiny_model, photos, out, "--max_train_steps", "100000", "--checkpointing_steps", "100000"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "saekdam_training.train_theme_lora", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        text=True,
    )
    try:
        output = ""
        deadline = time.monotonic() + 120
        while "loss=" not in output and time.monotonic() < deadline:  # a step is done
            output += process.stdout.read(1)
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, output + rest
    (checkpoint,) = checkpoints.list_checkpoints(out)
    lora_dir = tmp_path / "lora"
    shutil.copytree(checkpoint, lora_dir / THEME)
    assert THEME in worker_painter(tiny_model, lora_dir).themes
