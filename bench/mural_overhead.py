"""Worker overhead per mural job, on the tiny inpainting pipeline (CPU).

The same mural job done two ways in one run:
- direct: `MuralPainter.paint` in this process, the painter loaded through the production
  ModelManager from the tiny models, on the photo and the wall alpha the job would compute
  from the uploaded mask (mask clean-up and feathering done once, beforehand);
- system: through the real API and one real worker process started with the same tiny models:
  upload the photo and the mask, then POST submit `mural` (region mode "mask"), timed from
  just before the submit request to the COMPLETED TaskEvent arriving on the Redis channel the
  websocket relay listens to. Uploads (client -> storage) happen before the clock starts.

`WARMUP_JOBS` of each first (the worker's first loads the model; the first few torch calls in a
fresh process are slow, by seconds at times), then `n` of each, interleaved (direct, system,
direct, ...) so a change in the machine's load hits both alike. The overhead is the
difference of the medians; the ratio is system / direct.

Both sides run torch on one CPU thread (`torch.set_num_threads(1)` here, OMP_NUM_THREADS=1 for
the worker): tiny models gain nothing from threads, and OpenMP threads waiting for a busy core
make CPU timings swing by seconds on small machines. Same thread count, same arithmetic: the
worker's result is checked against the direct one, pixel for pixel.
"""

import asyncio
import contextlib
import io
import json
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
from PIL import Image
from redis.asyncio import Redis

from saekdam_contracts.redis_keys import TASK_EVENTS_CHANNEL

PHOTO_WIDTH, PHOTO_HEIGHT = 412, 300
# x0, y0, x1, y1 in pixels: the wall the uploaded mask marks.
MASK_BOX = (100, 50, 300, 250)
JOB = {"theme": "ocean", "prompt": "whales", "seed": 7}
TERMINAL = {"COMPLETED", "FAILED", "CANCELLED"}
WARMUP_JOBS = 3
# For the worker process; `one_torch_thread` does the same for this one.
WORKER_THREADS_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def photo_and_mask() -> tuple[np.ndarray, np.ndarray]:
    """A grey brick wall (a real photo, scikit-image's) and a white-on-black wall mask."""
    from skimage import data

    photo = np.ascontiguousarray(np.dstack([data.brick()] * 3)[:PHOTO_HEIGHT, :PHOTO_WIDTH])
    mask = np.zeros((PHOTO_HEIGHT, PHOTO_WIDTH), np.uint8)
    x0, y0, x1, y1 = MASK_BOX
    mask[y0:y1, x0:x1] = 255
    return photo, mask


def png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def build_models(root: Path) -> dict[str, str]:
    """The test suite's tiny models, saved under `root`, as worker env settings."""
    from tests.fixtures.models import build_tiny_models

    return build_tiny_models(root)


class Direct:
    """The painter in this process and the request the mural job would make of it."""

    def __init__(self, models_env: dict[str, str], photo: np.ndarray, mask: np.ndarray, steps: int):
        from saekdam_worker.jobs.mural import FEATHER_FRACTION
        from saekdam_worker.models.manager import ModelManager
        from saekdam_worker.models.settings import ModelSettings
        from saekdam_worker.pipelines.mural import MuralRequest, working_size
        from saekdam_worker.pipelines.wall_mask import clean_mask, feather, mask_from_upload

        settings = ModelSettings(**{k.lower(): v for k, v in models_env.items()})
        began = time.perf_counter()
        self.painter = ModelManager(settings).mural_painter
        self.load_s = time.perf_counter() - began
        height, width = photo.shape[:2]
        # As jobs/mural.py does with an uploaded mask.
        wall = clean_mask(mask_from_upload(mask, height, width))
        alpha = feather(wall, radius_px=max(2.0, FEATHER_FRACTION * min(height, width)))
        self.request = MuralRequest(image=photo, alpha=alpha, steps=steps, **JOB)
        self.working_size = working_size(width, height, self.painter.max_side)
        self.last: np.ndarray | None = None

    def once(self) -> float:
        began = time.perf_counter()
        result = self.painter.paint(self.request)
        elapsed = time.perf_counter() - began
        self.last = result.image
        return elapsed


class SystemClient:
    """One guest on the real API, and the task events seen on Redis, timestamped on receipt."""

    def __init__(self, base_url: str, redis_url: str):
        self.http = httpx.AsyncClient(base_url=base_url, timeout=60)
        self.redis = Redis.from_url(redis_url)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        # task id -> status -> when first seen
        self.seen: dict[str, dict[str, float]] = {}
        self.waiters: dict[str, asyncio.Future] = {}
        self.listener: asyncio.Task | None = None

    async def __aenter__(self) -> "SystemClient":
        await self.pubsub.subscribe(TASK_EVENTS_CHANNEL)
        self.listener = asyncio.create_task(self._listen())
        response = await self.http.post("/v1/auth/guest")
        response.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        return self

    async def __aexit__(self, *exc) -> None:
        if self.listener:
            self.listener.cancel()
            await asyncio.gather(self.listener, return_exceptions=True)
        await self.pubsub.aclose()
        await self.redis.aclose()
        await self.http.aclose()

    async def _listen(self) -> None:
        async for message in self.pubsub.listen():
            seen = time.perf_counter()
            event = json.loads(message["data"])
            task_id, status = event["task_id"], event["status"]
            self.seen.setdefault(task_id, {}).setdefault(status, seen)
            waiter = self.waiters.get(task_id)
            if status in TERMINAL and waiter and not waiter.done():
                waiter.set_result(event)

    async def _ok(self, response: httpx.Response, expected: int, what: str) -> dict:
        if response.status_code != expected:
            raise RuntimeError(f"{what}: {response.status_code} {response.text}")
        return response.json() if response.content else {}

    async def upload(self, task_id: str, data: bytes, role: str) -> None:
        body = {"role": role, "content_type": "image/png", "size": len(data)}
        slot = await self.http.post(f"/v1/tasks/{task_id}/uploads", json=body)
        form = await self._ok(slot, 201, f"upload slot ({role})")
        sent = await self.http.post(
            form["url"], data=form["fields"], files={"file": ("upload", data, "image/png")}
        )
        if sent.status_code not in (200, 201, 204):
            raise RuntimeError(f"upload ({role}): {sent.status_code} {sent.text}")

    async def mural(self, photo: bytes, mask: bytes, steps: int, timeout_s: float) -> dict:
        """One job; returns its timings (s) and id."""
        created_at = time.perf_counter()
        task_id = (await self._ok(await self.http.post("/v1/tasks"), 201, "create"))["task_id"]
        await self.upload(task_id, photo, "image")
        await self.upload(task_id, mask, "mask")
        done = self.waiters[task_id] = asyncio.get_running_loop().create_future()
        params = {**JOB, "steps": steps, "region": {"mode": "mask"}}
        submitted_at = time.perf_counter()
        sent = await self.http.post(
            f"/v1/tasks/{task_id}/submit", json={"kind": "mural", "params": params}
        )
        await self._ok(sent, 202, "submit")
        await asyncio.wait(
            {done, self.listener}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
        del self.waiters[task_id]
        if not done.done():
            if self.listener.done():
                self.listener.result()  # raises whatever stopped it
            raise TimeoutError(f"the mural job did not end within {timeout_s} s")
        event = done.result()
        if event["status"] != "COMPLETED":
            raise RuntimeError(f"the mural job ended {event['status']}: {event.get('error')}")
        seen = self.seen[task_id]
        started_at = seen.get("INPROGRESS", submitted_at)
        return {
            "task_id": task_id,
            "total_s": seen["COMPLETED"] - submitted_at,
            "queue_s": started_at - submitted_at,
            "run_s": seen["COMPLETED"] - started_at,
            "with_uploads_s": seen["COMPLETED"] - created_at,
        }

    async def result_file(self, task_id: str) -> tuple[bytes, dict]:
        task = await self._ok(await self.http.get(f"/v1/tasks/{task_id}"), 200, "get task")
        (result,) = task["results"]
        async with httpx.AsyncClient(timeout=30) as plain:
            response = await plain.get(result["url"])
        response.raise_for_status()
        return response.content, result


def _ms(values: list[float]) -> dict:
    ms = sorted(v * 1000 for v in values)
    return {
        "median_ms": round(statistics.median(ms), 2),
        "min_ms": round(ms[0], 2),
        "max_ms": round(ms[-1], 2),
        "runs_ms": [round(v * 1000, 2) for v in values],
    }


async def run(
    base_url: str,
    redis_url: str,
    direct: Direct,
    photo: np.ndarray,
    mask: np.ndarray,
    n: int,
    steps: int,
    log: Callable[[str], None] = lambda message: None,
    timeout_s: float = 120,
) -> dict:
    photo_png, mask_png = png(photo), png(mask)
    direct_s: list[float] = []
    jobs: list[dict] = []
    async with SystemClient(base_url, redis_url) as client:
        log(f"{WARMUP_JOBS} warm-up jobs each way (the worker's first loads the pipeline)")
        warm_direct = [direct.once()]
        warm = [await client.mural(photo_png, mask_png, steps, timeout_s)]
        same = await _same_result(client, warm[0]["task_id"], direct.last)
        for _ in range(WARMUP_JOBS - 1):
            warm_direct.append(direct.once())
            warm.append(await client.mural(photo_png, mask_png, steps, timeout_s))
        log(f"{n} mural jobs each way, interleaved")
        for _ in range(n):
            direct_s.append(direct.once())
            jobs.append(await client.mural(photo_png, mask_png, steps, timeout_s))

    d = _ms(direct_s)
    s = _ms([j["total_s"] for j in jobs])
    return {
        "jobs": n,
        "steps": steps,
        "theme": JOB["theme"],
        "photo": f"{PHOTO_WIDTH}x{PHOTO_HEIGHT}",
        "working_size": "{}x{}".format(*direct.working_size),
        "warmup_jobs": WARMUP_JOBS,
        "direct": {
            **d,
            "load_s": round(direct.load_s, 2),
            "warmup_ms": [round(t * 1000) for t in warm_direct],
        },
        "system": {
            **s,
            "warmup_ms": [round(j["total_s"] * 1000) for j in warm],
            "submit_to_inprogress_median_ms": round(
                statistics.median(j["queue_s"] for j in jobs) * 1000, 2
            ),
            "inprogress_to_completed_median_ms": round(
                statistics.median(j["run_s"] for j in jobs) * 1000, 2
            ),
            "with_uploads_median_ms": round(
                statistics.median(j["with_uploads_s"] for j in jobs) * 1000, 2
            ),
        },
        "overhead_ms": round(s["median_ms"] - d["median_ms"], 2),
        "ratio_system_vs_direct": round(s["median_ms"] / d["median_ms"], 3),
        **same,
    }


async def _same_result(client: SystemClient, task_id: str, direct_image: np.ndarray) -> dict:
    """Check the worker painted what the direct call painted (same seed, same tiny weights,
    both on one CPU thread): its result file against the direct image, as pixels when it is
    lossless, else against the direct image put through the same JPEG encoding as the job."""
    expected = (PHOTO_WIDTH, PHOTO_HEIGHT, JOB["seed"])
    data, result = await client.result_file(task_id)
    if (result["width"], result["height"], result["seed"]) != expected:
        raise RuntimeError(f"unexpected mural result {result}, expected (w, h, seed) {expected}")
    worker = _decode(data)
    reference = direct_image
    if result["content_type"] == "image/jpeg":
        import cv2

        from saekdam_worker.pipelines.codec import encode_jpeg

        reference = _decode(encode_jpeg(cv2.cvtColor(direct_image, cv2.COLOR_RGB2BGR), 92))
    diff = int(np.abs(worker - reference.astype(np.int16)).max())
    return {
        "result_content_type": result["content_type"],
        "result_identical_to_direct": diff == 0,
        "result_vs_direct_max_abs_diff": diff,
    }


def _decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)
