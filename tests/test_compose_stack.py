"""The services as compose runs them: the same commands and the same environment (production
mode included), on PostgreSQL, Redis, an S3 endpoint and a models volume laid out as
`make download-models` leaves it, with tiny models. No Docker engine here, so the processes
run directly; only what a container would see differently is overridden (addresses, paths
on this machine, the GPU). A mural and a filter go through, and a GPU worker frozen with
SIGSTOP fails its liveness probe while another worker takes its job over."""

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
from skimage import data as skdata

from infra.processes import REPO, free_port, port_open, python_module, stop, wait_for
from saekdam_worker.models.loading import SAM_CHECKPOINT_FILES
from saekdam_worker.models.settings import ModelSettings
from tests.fixtures.client import Client, png_bytes
from tests.fixtures.compose import command_of, compose_with
from tests.fixtures.services import fresh_postgres_database

pytestmark = pytest.mark.slow


def hub_layout(model_dir: Path, repo_id: str, folder: Path) -> None:
    """A model folder as the Hugging Face cache keeps a downloaded repo (refs/main pointing
    at a snapshot), which the worker reads with local_files_only."""
    repo = model_dir / "hub" / f"models--{repo_id.replace('/', '--')}"
    revision = "0" * 40
    shutil.copytree(folder, repo / "snapshots" / revision)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(revision)


def models_volume(root: Path, tiny_models_env: dict[str, str]) -> Path:
    """MODEL_DIR as the `models` service fills it: the hub cache, sam/, lora/."""
    model_dir = root / "models"
    hub_layout(model_dir, ModelSettings().inpaint_model, Path(tiny_models_env["INPAINT_MODEL"]))
    sam = Path(tiny_models_env["SAM_CHECKPOINT"])
    (model_dir / "sam").mkdir(parents=True)
    shutil.copy(sam, model_dir / "sam" / SAM_CHECKPOINT_FILES["vit_b"])
    shutil.copy(sam.with_name("sam_config.json"), model_dir / "sam" / "sam_config.json")
    shutil.copytree(tiny_models_env["LORA_DIR"], model_dir / "lora")
    return model_dir


def probe(heartbeat: Path) -> subprocess.CompletedProcess:
    """The images' HEALTHCHECK (and the k8s liveness probe): --max-age 30."""
    command = [sys.executable, "-m", "saekdam_worker.liveness", "--file", str(heartbeat)]
    return subprocess.run([*command, "--max-age", "30"], capture_output=True, text=True, timeout=60)


class Stack:
    def __init__(self, root: Path, services: dict, local: dict[str, dict[str, str]]):
        self.root, self.services, self.local = root, services, local
        self.processes: list[subprocess.Popen] = []
        (root / "logs").mkdir(exist_ok=True)

    def env(self, service: str, **extra: str) -> dict[str, str]:
        environment = {k: str(v) for k, v in self.services[service].get("environment", {}).items()}
        return {**environment, **self.local.get(service, {}), **extra}

    def run_once(self, service: str) -> None:
        # `python` in the images is their virtualenv's: here, this one.
        command = [sys.executable, *command_of(self.services[service])[1:]]
        done = subprocess.run(
            command, env={**os.environ, **self.env(service)}, cwd=REPO, capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, f"{service}: {done.stdout}{done.stderr}"[-3000:]

    def start(self, service: str, name: str, **extra: str) -> subprocess.Popen:
        command = command_of(self.services[service])
        assert command[:2] == ["python", "-m"], command
        process = python_module(
            command[2], self.env(service, **extra), self.root / "logs" / f"{name}.log"
        )
        self.processes.append(process)
        return process

    def log(self, name: str) -> str:
        return (self.root / "logs" / f"{name}.log").read_text()[-3000:]

    def shutdown(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.kill(process.pid, signal.SIGCONT)  # a frozen one cannot take SIGTERM
            stop(process)


@pytest.fixture
def stack(tmp_path, redis_url, moto_server, tiny_models_env):
    api_port = free_port()
    base_url = f"http://127.0.0.1:{api_port}"
    with fresh_postgres_database() as database_url:
        services = compose_with(
            JWT_SECRET=secrets.token_hex(32),
            POSTGRES_PASSWORD=secrets.token_hex(16),
            S3_ACCESS_KEY="testing",
            S3_SECRET_KEY="testing",
            S3_BUCKET=f"compose-{uuid.uuid4().hex[:12]}",
            PUBLIC_BASE_URL=base_url,
            S3_PUBLIC_ENDPOINT_URL=moto_server,
            ALLOWED_ORIGINS=f'["{base_url}"]',
        )["services"]
        model_dir = models_volume(tmp_path, tiny_models_env)
        # What a container would see at other addresses and paths, and no GPU here.
        here = {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "S3_ENDPOINT_URL": moto_server,
            "HOST": "127.0.0.1",
        }
        gpu = {"MODEL_DIR": str(model_dir), "LORA_DIR": str(model_dir / "lora"), "DEVICE": "cpu"}
        local = {
            "migrate": {"DATABASE_URL": database_url},
            "s3-init": here,
            "api": {**here, "PORT": str(api_port)},
            "worker-gpu": {**here, **gpu, "METRICS_PORT": "0", "MURAL_MAX_SIDE": "128"},
            "worker-cpu": {**here, "METRICS_PORT": "0"},
        }
        running = Stack(tmp_path, services, local)
        try:
            running.run_once("migrate")
            running.run_once("s3-init")
            api = running.start("api", "api")
            wait_for(lambda: port_open("127.0.0.1", api_port) or api.poll() is not None, 60, "API")
            assert api.poll() is None, running.log("api")
            running.base_url = base_url
            yield running
        finally:
            running.shutdown()


def brick_photo() -> np.ndarray:
    return np.dstack([skdata.brick()] * 3)[:200, :260]


async def submitted(client: Client, kind: str, params: dict) -> str:
    task_id = await client.create_task()
    await client.upload(task_id, png_bytes(brick_photo()))
    assert (await client.submit(task_id, kind, params)).status_code == 202
    return task_id


MURAL = {
    "theme": "ocean",
    "prompt": "whales",
    "region": {"mode": "box", "box": {"x": 0.2, "y": 0.2, "w": 0.5, "h": 0.5}},
    "seed": 1,
}


async def test_a_mural_and_a_filter_go_through_the_services_as_compose_runs_them(stack):
    stack.start("worker-gpu", "worker-gpu", HEARTBEAT_FILE=str(stack.root / "gpu.alive"))
    stack.start("worker-cpu", "worker-cpu", HEARTBEAT_FILE=str(stack.root / "cpu.alive"))
    client = await Client(stack.base_url).as_guest()
    mural = await submitted(client, "mural", {**MURAL, "steps": 2})
    picture = await submitted(client, "filter", {"filter": "cartoon"})
    for task_id in (mural, picture):
        frames = await client.events(task_id, timeout_s=180)
        assert frames[-1]["status"] == "COMPLETED", (frames[-1], stack.log("worker-gpu"))
    assert probe(stack.root / "gpu.alive").returncode == 0
    assert probe(stack.root / "cpu.alive").returncode == 0


async def test_a_frozen_gpu_worker_fails_its_probe_and_another_takes_its_job_over(stack):
    frozen_beat = stack.root / "frozen.alive"
    frozen = stack.start("worker-gpu", "worker-frozen", HEARTBEAT_FILE=str(frozen_beat))
    # The CPU worker's dispatcher puts murals on their stream (fair turns), as in compose.
    stack.start("worker-cpu", "worker-cpu", HEARTBEAT_FILE=str(stack.root / "cpu.alive"))
    client = await Client(stack.base_url).as_guest()
    task_id = await submitted(client, "mural", {**MURAL, "steps": 100})
    await client.wait_until(task_id, lambda t: (t.get("progress") or 0) > 0.05, timeout_s=180)
    assert probe(frozen_beat).returncode == 0
    frozen.send_signal(signal.SIGSTOP)
    # Another GPU worker, which takes the job over once the frozen one's lease (LEASE_S, 30 s
    # in compose) lapses.
    stack.start("worker-gpu", "worker-gpu", HEARTBEAT_FILE=str(stack.root / "gpu.alive"))

    async with asyncio.timeout(90):  # the heartbeat ages past the probe's 30 s
        while True:
            failed = await asyncio.to_thread(probe, frozen_beat)
            if failed.returncode != 0:
                break
            await asyncio.sleep(2)
    assert "stuck" in failed.stderr, failed.stderr
    task = await client.wait_until(task_id, lambda t: t["status"] == "COMPLETED", timeout_s=240)
    assert task["attempt"] == 2, task
    assert frozen.poll() is None  # still frozen: its job was taken over, not handed back
