"""The GPU smoke script (services/model_worker/scripts/gpu_smoke.py) runs end to end on the
tiny CPU models, and says which pipelines it skips when the weights are missing."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).parents[1] / "scripts" / "gpu_smoke.py"


def run_script(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    # One torch thread: tiny models gain nothing from more, and on a small busy machine
    # OpenMP threads waiting for a core multiply the run time.
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env={**os.environ, "OMP_NUM_THREADS": "1", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def lines_of(stdout: str) -> dict[str, str]:
    return {line.split()[0]: line for line in stdout.splitlines() if line.strip()}


def test_the_smoke_script_runs_every_pipeline_on_the_tiny_models(tiny_models_env, tmp_path):
    done = run_script(
        tiny_models_env, "--steps", "2", "--out", str(tmp_path), "--train_steps", "2",
        "--train_resolution", "64",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    lines = lines_of(done.stdout)
    for name in ("sam", "mural", "sketch", "train"):
        assert name in lines, done.stdout
        assert " load " in lines[name] and " s/image " in lines[name], lines[name]
        assert "peak GPU memory n/a (cpu)" in lines[name], lines[name]
    assert "steps/s n/a" in lines["sam"] and "box mask covers" in lines["sam"]
    assert (
        "steps/s (2 steps)" in lines["mural"] and "theme ocean, on the SAM mask" in lines["mural"]
    )
    assert "steps/s (2 steps)" in lines["sketch"] and "64x64" in lines["sketch"]
    assert "steps/s (2 steps)" in lines["train"] and "final loss" in lines["train"]
    assert {p.name for p in tmp_path.iterdir()} == {"mask.png", "mural.jpg", "sketch.png"}


def test_the_smoke_script_skips_pipelines_without_weights(tmp_path):
    # Sources that name nothing on disk (empty SAM_CHECKPOINT means MODEL_DIR/sam/...).
    nowhere = str(tmp_path / "nowhere")
    env = {name: nowhere for name in ("INPAINT_MODEL", "SDXL_MODEL", "SDXL_VAE", "SKETCH_ADAPTER")}
    env |= {"SAM_CHECKPOINT": "", "MODEL_DIR": nowhere, "LORA_DIR": nowhere, "DEVICE": "cpu"}
    done = run_script(env, "--only", "mural", "--only", "sam")
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    lines = lines_of(done.stdout)
    assert "skipped" in lines["sam"] and "skipped" in lines["mural"], done.stdout
    assert "sketch" not in lines
