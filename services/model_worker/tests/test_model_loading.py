"""Model loading and what a worker advertises, on tiny models saved to disk."""

import io
import threading

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from saekdam_contracts.capabilities import WorkerCapabilities
from saekdam_worker.context import JobContext, ProgressUpdate
from saekdam_worker.errors import JobError
from saekdam_worker.models.loading import (
    ModelUnavailable,
    load_inpaint_pipeline,
    load_theme_adapters,
    pick_device,
)
from saekdam_worker.models.manager import ModelManager
from saekdam_worker.models.settings import ModelSettings
from saekdam_worker.pipelines.codec import decode_rgba
from saekdam_worker.pipelines.sketch import sketch_condition
from tests.fixtures.tiny_models.inpaint import save_tiny_inpaint, save_tiny_theme_loras
from tests.fixtures.tiny_models.sam import save_tiny_sam


@pytest.fixture(scope="module")
def tiny_inpaint(tmp_path_factory):
    root = tmp_path_factory.mktemp("inpaint")
    folder = save_tiny_inpaint(root / "pipe")
    loras = save_tiny_theme_loras(folder, root / "lora", ["animals", "nature"])
    return folder, loras


def test_a_broken_adapter_folder_is_skipped_and_the_others_load(tiny_inpaint):
    folder, loras = tiny_inpaint
    (loras / "ocean").mkdir(exist_ok=True)
    (loras / "ocean" / "pytorch_lora_weights.safetensors").write_bytes(b"not safetensors")
    settings = ModelSettings(inpaint_model=str(folder), lora_dir=str(loras), device="cpu")
    pipe = load_inpaint_pipeline(settings, torch.device("cpu"))
    loaded = load_theme_adapters(pipe, settings, ["animals", "nature", "ocean", "space"])
    assert loaded == ["animals", "nature"]


def test_a_missing_model_says_how_to_get_it(tmp_path):
    settings = ModelSettings(inpaint_model="someone/not-downloaded", model_dir=str(tmp_path))
    with pytest.raises(ModelUnavailable) as raised:
        load_inpaint_pipeline(settings, torch.device("cpu"))
    assert raised.value.code == "model_unavailable"
    assert "make download-models" in raised.value.message


def test_asking_for_cuda_without_it_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(JobError, match="CUDA is not available") as raised:
        pick_device("cuda")
    assert raised.value.code == "device_unavailable"
    assert pick_device("auto").type in ("cpu", "mps")


def test_capabilities_follow_the_kinds_taken_and_the_files_present(tiny_inpaint, tmp_path):
    folder, loras = tiny_inpaint
    settings = ModelSettings(
        inpaint_model=str(folder),
        lora_dir=str(loras),
        sam_checkpoint=str(tmp_path / "missing.pth"),
        sdxl_model=str(tmp_path / "absent"),
    )
    manager = ModelManager(settings)
    assert manager.capabilities(["filter"]) == WorkerCapabilities(kinds=["filter"])
    mural = manager.capabilities(["mural", "sketch"])
    assert mural.kinds == ["mural", "sketch"]
    assert set(mural.themes) >= {"animals", "nature", "custom"}
    assert mural.styles == []  # no SDXL here
    assert mural.mural_regions == ["mask"]  # no SAM: only the client's own mask
    assert WorkerCapabilities.model_validate_json(mural.model_dump_json()) == mural

    settings.sam_checkpoint = str(save_tiny_sam(tmp_path / "sam"))
    assert ModelManager(settings).capabilities(["mural"]).mural_regions == [
        "auto",
        "box",
        "points",
        "mask",
    ]


def test_a_theme_trained_while_the_worker_runs_is_advertised_and_then_painted(
    tiny_inpaint, tmp_path
):
    import shutil

    folder, loras = tiny_inpaint
    lora_dir = tmp_path / "lora"
    shutil.copytree(loras / "animals", lora_dir / "animals")
    settings = ModelSettings(inpaint_model=str(folder), lora_dir=str(lora_dir), device="cpu")
    manager = ModelManager(settings)
    painter = manager.theme_painter()
    assert painter.themes == ["animals", "custom"]

    # A new adapter lands (as the training writes it): advertised now, loaded on the next job.
    shutil.copytree(loras / "nature", lora_dir / "nature")
    assert "nature" in manager.capabilities(["mural"]).themes
    assert "nature" not in painter.themes
    assert manager.theme_painter() is painter
    assert painter.themes == ["animals", "nature", "custom"]

    # A broken one is neither advertised nor retried until its files change.
    (lora_dir / "ocean").mkdir()
    weights = lora_dir / "ocean" / "pytorch_lora_weights.safetensors"
    weights.write_bytes(b"half a file")
    assert "ocean" in manager.capabilities(["mural"]).themes  # not tried yet
    manager.theme_painter()
    assert "ocean" not in manager.capabilities(["mural"]).themes
    assert manager.new_theme_folders(painter.adapters) == []
    shutil.copy(loras / "animals" / "pytorch_lora_weights.safetensors", weights)
    assert manager.new_theme_folders(painter.adapters) == ["ocean"]
    assert "ocean" in manager.theme_painter().themes


def test_a_doodle_on_a_transparent_canvas_keeps_its_lines():
    canvas = np.zeros((128, 128, 4), np.uint8)  # fully transparent
    cv2.line(canvas, (10, 10), (118, 118), (0, 0, 0, 255), 4)  # opaque black stroke
    buffer = io.BytesIO()
    Image.fromarray(canvas, "RGBA").save(buffer, format="PNG")
    rgba = decode_rgba(buffer.getvalue())
    assert rgba.shape == (128, 128, 4) and rgba[..., 3].max() == 255
    assert np.asarray(sketch_condition(rgba, size=64)).any()


def test_eta_comes_from_the_step_rate_not_the_whole_job_average():
    now = [0.0]
    updates: list[ProgressUpdate] = []
    ctx = JobContext(
        task_id="t",
        attempt=1,
        inputs=[],
        storage=None,
        report=updates.append,
        cancelled=threading.Event(),
        clock=lambda: now[0],
    )
    ctx.plan(load=3, denoise=30, upload=1)
    ctx.report("load")
    now[0] = 40.0  # a first job's slow model load
    ctx.report("load", 1.0)
    for step in (1, 2):
        now[0] += 1.0  # one second a step
        ctx.report("denoise", step / 30, step=step, total_steps=30)
    # 28 steps left at 1 s, plus the upload's share scaled from the denoise stage (1/30 of 30 s)
    assert updates[-1].eta_s == pytest.approx(29.0)
