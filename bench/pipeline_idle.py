"""How long the pipeline (the GPU) sits idle between back-to-back 12 MP mural jobs.

The tiny inpainting pipeline, made to take `step_s` per denoising step (a stand-in for a
GPU's denoise: it sleeps, so the CPU is free meanwhile, as it is while a GPU works), runs
`jobs` mural jobs on a 12 MP photo with an uploaded wall mask, two ways in one run:
- serial: each job's parts one after another on one thread (what the worker did before
  it overlapped jobs): decode, mask, denoise, composite, encode, store;
- worker: the real runtime (saekdam_worker.runtime.Worker) in this process, on the bench's
  Redis, a fresh SQLite file and local storage, the jobs queued at once.
Idle is 1 - (time inside the pipeline's denoise calls) / (first call's start to the last
call's end): between jobs, what the pipeline waited for. The display rendition's size is
read back from storage.
"""

import asyncio
import secrets
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from saekdam_contracts.keys import task_input_key
from saekdam_contracts.queue import JobMessage
from saekdam_contracts.status import TaskStatus

WIDTH, HEIGHT = 4032, 3024  # a 12 MP phone photo
JOB = {"theme": "custom", "prompt": "whales", "seed": 7, "region": {"mode": "mask"}}


class TimedPipe:
    """The real pipeline, each step made `step_s` long, every call's span recorded."""

    def __init__(self, pipe, step_s: float):
        self._pipe, self._step_s = pipe, step_s
        self.spans: list[tuple[float, float]] = []

    def __getattr__(self, name):
        return getattr(self._pipe, name)

    def __call__(self, *args, callback_on_step_end=None, **kwargs):
        def slow_step(pipe, step_index, timestep, tensors):
            time.sleep(self._step_s)
            if callback_on_step_end is None:
                return tensors
            return callback_on_step_end(pipe, step_index, timestep, tensors)

        began = time.perf_counter()
        try:
            return self._pipe(*args, callback_on_step_end=slow_step, **kwargs)
        finally:
            self.spans.append((began, time.perf_counter()))

    def idle_fraction(self, since: int = 0) -> float:
        spans = self.spans[since:]
        busy = sum(end - start for start, end in spans)
        wall = spans[-1][1] - spans[0][0]
        return 1 - busy / wall


def photo_and_mask() -> tuple[np.ndarray, np.ndarray]:
    """Photo-like (gradients, texture and noise, so it compresses like a photo, not a flat
    picture) 12 MP BGR, and a wall mask covering its middle."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    base = np.stack([x / WIDTH * 180, y / HEIGHT * 200, (x + y) / (WIDTH + HEIGHT) * 160], -1)
    texture = 30 * np.sin(x / 37.0)[..., None] * np.cos(y / 23.0)[..., None]
    noise = rng.normal(0, 12, (HEIGHT, WIDTH, 3)).astype(np.float32)
    photo = np.clip(base + texture + noise + 30, 0, 255).astype(np.uint8)
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    mask[HEIGHT // 5 : HEIGHT * 4 // 5, WIDTH // 6 : WIDTH * 5 // 6] = 255
    return photo, mask


def _png(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", image)
    assert ok
    return data.tobytes()


def run(
    root: Path,
    models_env: dict[str, str],
    redis_url: str,
    jobs: int,
    steps: int,
    step_s: float,
    log,
) -> dict:
    from infra.processes import migrate
    from saekdam_worker import jobs as _registered  # noqa: F401  (registers the handlers)
    from saekdam_worker.models.manager import ModelManager
    from saekdam_worker.models.settings import ModelSettings

    manager = ModelManager(ModelSettings(**{k.lower(): v for k, v in models_env.items()}))
    painter = manager.mural_painter
    timed = painter.pipe = TimedPipe(painter.pipe, step_s)
    photo, mask = photo_and_mask()
    photo_png, mask_png = _png(photo), _png(cv2.cvtColor(mask, cv2.COLOR_GRAY2BGR))
    log(f"pipeline idle: {jobs} serial 12 MP mural jobs ({steps} steps of {step_s}s)")
    serial = _serial(root / "serial", manager, photo_png, mask_png, jobs, steps)
    serial_idle = timed.idle_fraction()
    log(f"pipeline idle: {jobs} jobs through the worker runtime")
    first = len(timed.spans)
    (root / "worker").mkdir(parents=True, exist_ok=True)
    url = f"sqlite+aiosqlite:///{root / 'worker' / 'idle.db'}"
    migrate(url)
    through = asyncio.run(
        _worker(url, root / "worker", manager, redis_url, photo_png, mask_png, jobs, steps)
    )
    return {
        "jobs": jobs,
        "photo": f"{WIDTH}x{HEIGHT}",
        "denoise_s_per_job": round(steps * step_s, 2),
        "serial": {"idle_fraction": round(serial_idle, 4), "wall_s": serial},
        "worker": {"idle_fraction": round(timed.idle_fraction(first), 4), **through},
        "photo_png_bytes": len(photo_png),
    }


def _storage(root: Path):
    from saekdam_backbone.storage.local import LocalStorage

    return LocalStorage(root / "storage", secrets.token_bytes(16), "http://127.0.0.1")


def _inputs(storage, task_id: str, photo_png: bytes, mask_png: bytes) -> list[dict]:
    inputs = []
    for role, data in (("image", photo_png), ("mask", mask_png)):
        upload_id = secrets.token_hex(8)
        key = task_input_key(task_id, upload_id)
        storage.write(key, data, "image/png")
        inputs.append(
            {
                "upload_id": upload_id,
                "role": role,
                "key": key,
                "content_type": "image/png",
                "width": WIDTH,
                "height": HEIGHT,
            }
        )
    return inputs


def _serial(root: Path, manager, photo_png: bytes, mask_png: bytes, jobs: int, steps: int):
    from saekdam_contracts.jobs import MuralParams
    from saekdam_worker.context import InputRef, JobContext
    from saekdam_worker.registry import handler_for

    storage = _storage(root)
    handler = handler_for("mural")
    params = MuralParams.model_validate({**JOB, "steps": steps})
    began = time.perf_counter()
    for _ in range(jobs):
        task_id = secrets.token_hex(8)
        ctx = JobContext(
            task_id=task_id,
            attempt=1,
            inputs=[InputRef(**i) for i in _inputs(storage, task_id, photo_png, mask_png)],
            storage=storage,
            report=lambda update: None,
            cancelled=threading.Event(),
            models=manager,
        )
        handler(ctx, params)  # prepare, run and finish on this one thread
    return round(time.perf_counter() - began, 2)


async def _worker(
    url: str,
    root: Path,
    manager,
    redis_url: str,
    photo_png: bytes,
    mask_png: bytes,
    jobs: int,
    steps: int,
) -> dict:
    from redis.asyncio import Redis

    from saekdam_backbone.db import create_engine, create_sessions
    from saekdam_backbone.events import EventPublisher
    from saekdam_backbone.queue import JobQueue
    from saekdam_backbone.tasks.store import TaskStore
    from saekdam_worker.reconciler import Reconciler
    from saekdam_worker.runtime import Worker
    from saekdam_worker.settings import WorkerSettings

    engine, redis = create_engine(url), Redis.from_url(redis_url)
    await redis.flushdb()
    storage = _storage(root)
    store, queue = TaskStore(create_sessions(engine)), JobQueue(redis)
    settings = WorkerSettings(
        worker_kinds=["mural"], database_url=url, redis_url=redis_url, prefetch_jobs=1
    )
    reconciler = Reconciler(
        store,
        queue,
        redis,
        owner=settings.worker_id,
        interval_s=60,
        grace_s=60,
        requeue_after_s=600,
    )

    async def no_cancels():
        await asyncio.Event().wait()
        yield ""

    worker = Worker(
        settings, store, queue, EventPublisher(redis), storage, reconciler, no_cancels(), manager
    )
    await queue.ensure_groups(["mural"])
    ids = []
    for _ in range(jobs):
        task = await store.create("bench", max_attempts=1)
        inputs = _inputs(storage, task.id, photo_png, mask_png)
        await store.submit(task.id, "bench", "mural", {**JOB, "steps": steps}, inputs)
        await queue.enqueue(JobMessage(task_id=task.id, kind="mural"))
        ids.append(task.id)
    began = time.perf_counter()
    running = asyncio.create_task(worker.run())
    try:
        while True:
            tasks = [await store.get(i) for i in ids]
            if bad := [t for t in tasks if t.status in (TaskStatus.FAILED, TaskStatus.CANCELLED)]:
                raise RuntimeError(f"mural job failed: {bad[0].error_code} {bad[0].error_message}")
            if all(t.status == TaskStatus.COMPLETED for t in tasks):
                break
            if running.done():
                running.result()
            await asyncio.sleep(0.1)
        wall = time.perf_counter() - began
    finally:
        worker.request_stop()
        await asyncio.wait_for(running, 120)
        await redis.aclose()
        await engine.dispose()
    item = tasks[-1].results[0]
    return {
        "wall_s": round(wall, 2),
        "original_bytes": len(storage.read(item["key"])),
        "display_bytes": len(storage.read(item["display"]["key"])),
        "display_size": [item["display"]["width"], item["display"]["height"]],
        "thumbnail_bytes": len(storage.read(item["thumbnail"]["key"])),
    }


NOTE = (
    "Pipeline idle: the tiny inpainting pipeline with every denoising step made step_s long "
    "(it sleeps, as the CPU is free while a GPU denoises), 12 MP photo-like PNG + uploaded "
    "wall mask, theme custom. serial = prepare, run and finish of each job on one thread, one "
    "job after another (the worker before overlap); worker = saekdam_worker.runtime.Worker in "
    "the bench process on the bench's Redis, SQLite and local storage, all jobs queued at "
    "once. idle = 1 - time inside the pipeline's calls / first call's start to last call's end."
)


def render(r: dict | None) -> list[str]:
    if not r:
        return []
    title = "8. Pipeline idle between back-to-back 12 MP mural jobs"
    if "skipped" in r:
        return ["", f"{title}: skipped ({r['skipped']})"]
    w = r["worker"]
    return [
        "",
        f"{title}: {r['jobs']} jobs, {r['photo']}, denoise {r['denoise_s_per_job']} s a job",
        f"   serial (no overlap): idle {r['serial']['idle_fraction']:.1%}, "
        f"{r['serial']['wall_s']:.1f} s",
        f"   worker runtime:      idle {w['idle_fraction']:.1%}, {w['wall_s']:.1f} s "
        f"(target <= 5%)",
        f"   result: original {w['original_bytes'] / 1e6:.1f} MB PNG; display "
        f"{w['display_size'][0]}x{w['display_size'][1]} {w['display_bytes'] / 1e6:.2f} MB "
        f"(target <= 1.5 MB); thumbnail {w['thumbnail_bytes'] / 1e3:.0f} kB",
    ]
