"""A theme trained with `saekdam_training` becomes paintable on a worker that is already running
and has painted before: advertised in /v1/themes, then a mural in it completes."""

import asyncio
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from infra.processes import REPO
from tests.fixtures.client import Client, png_bytes

pytestmark = pytest.mark.slow

NEW_THEME = "space"  # the tiny models have no adapter for it


def brick_photo() -> np.ndarray:
    return np.dstack([skdata.brick()] * 3)[:200, :260]


async def available_themes(client: Client) -> set[str]:
    themes = (await client.request("GET", "/v1/themes")).json()["themes"]
    return {t["name"] for t in themes if t["available"]}


async def wait_for_theme(client: Client, theme: str, timeout_s: float = 60) -> None:
    async with asyncio.timeout(timeout_s):
        while True:
            if theme in await available_themes(client):
                return
            await asyncio.sleep(0.3)


async def paint(client: Client, theme: str) -> dict:
    task_id = await client.create_task()
    await client.upload(task_id, png_bytes(brick_photo()))
    params = {
        "theme": theme,
        "prompt": "planets",
        "region": {"mode": "box", "box": {"x": 0.2, "y": 0.2, "w": 0.5, "h": 0.5}},
        "steps": 2,
        "seed": 3,
    }
    assert (await client.submit(task_id, "mural", params)).status_code == 202
    frames = await client.events(task_id, timeout_s=180)
    return frames[-1]


async def test_a_theme_trained_here_is_painted_by_a_running_worker(
    system_factory, tiny_models_env, tmp_path
):
    lora_dir = tmp_path / "lora"
    shutil.copytree(tiny_models_env["LORA_DIR"], lora_dir)
    system = system_factory(**{**tiny_models_env, "LORA_DIR": str(lora_dir)})
    client = await Client(system.base_url).as_guest()
    await wait_for_theme(client, "ocean")
    assert NEW_THEME not in await available_themes(client)
    # The worker has its painter and adapters loaded before the new theme exists.
    assert (await paint(client, "ocean"))["status"] == "COMPLETED"

    photos = tmp_path / "photos"
    photos.mkdir()
    for i, picture in enumerate([skdata.rocket(), skdata.astronaut(), skdata.coffee()]):
        Image.fromarray(np.ascontiguousarray(picture)).resize((80, 80)).save(photos / f"{i}.png")
    trained = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable, "-m", "saekdam_training.train_theme_lora",
            "--theme", NEW_THEME,
            "--data_dir", str(photos),
            "--pretrained_model", tiny_models_env["INPAINT_MODEL"],
            "--output_dir", str(lora_dir / NEW_THEME),  # straight into the worker's LORA_DIR
            "--resolution", "64",
            "--max_train_steps", "2",
            "--mask_mix", "0,1,1",
            "--cpu",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-3000:]

    # Advertised within the worker's advertising interval, without a restart.
    await wait_for_theme(client, NEW_THEME)
    final = await paint(client, NEW_THEME)
    assert final["status"] == "COMPLETED", final
