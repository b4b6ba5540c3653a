"""Posture frames: MediaPipe Pose called directly against the same frames through the service.

One webcam-like frame for everything: scikit-image's astronaut, resized to 640x480 and encoded as
JPEG (quality 85). All of it on ONE CPU, so frames/s compare per core:

- direct: `bench/posture_direct.py` in the posture environment (.venv-posture: MediaPipe is not
  in the bench's .venv), pinned to the CPU: PIL decode + `Pose(static_image_mode=True,
  model_complexity=1).process` per frame, back to back;
- service: the real posture service (`python -m saekdam_posture`, ESTIMATOR_THREADS=1, SQLite),
  every thread pinned to the same CPU; this process (the client) runs on the other CPUs. One
  websocket with an `Authorization: Bearer` header (a token signed with the service's
  JWT_SECRET), binary JPEG frames in, a `result` message per frame out.
  * closed loop: the next frame is sent when the previous frame's result arrives, so every
    frame is answered and none waits: frames/s and the round trip of one frame at a time;
  * closed loop, 2 in flight: the frame after next is sent when a result arrives, so one frame
    always waits in the service's slot and the estimator never idles while a result travels
    back, still without drops: the service's capacity on one core (compared with direct);
  * open loop: frames sent at a fixed rate (10 fps, a webcam client's pace) whatever the
    answers; latency = send -> result received, on this process' clock.

Per frame the service also checks the frame's header on the event loop, hands it to the
estimator thread (which decodes and estimates), scores the pose (features, One-Euro smoothing,
calibration, alert policy) and sends the result as JSON.
"""

import asyncio
import contextlib
import io
import json
import os
import statistics
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import websockets

from infra.processes import POSTURE_PYTHON, REPO
from saekdam_backbone.tokens import issue_token

from .environment import BENCH_USER_ID, PostureService

FRAME_WIDTH, FRAME_HEIGHT = 640, 480
JPEG_QUALITY = 85
WARMUP_FRAMES = 10
DIRECT_SCRIPT = REPO / "bench" / "posture_direct.py"


def make_frame() -> bytes:
    """scikit-image's astronaut (512x512, an upper-body portrait), resized to 640x480, JPEG q85."""
    from PIL import Image
    from skimage import data

    image = Image.fromarray(data.astronaut()).resize(
        (FRAME_WIDTH, FRAME_HEIGHT), Image.Resampling.LANCZOS
    )
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


def cpus() -> tuple[int, list[int]]:
    """The CPU the measured side gets (the last one allowed) and the ones left for the client."""
    allowed = sorted(os.sched_getaffinity(0))
    return allowed[-1], allowed[:-1] or allowed


@contextlib.contextmanager
def client_on(cpus: list[int]) -> Iterator[None]:
    """Run this (the client's) thread on `cpus`, away from the measured one."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def direct(frame_path: Path, frames: int, cpu: int) -> dict:
    """`posture_direct.py` in the posture environment; killed if this fails or is stopped."""
    completed = subprocess.run(
        [
            str(POSTURE_PYTHON),
            str(DIRECT_SCRIPT),
            str(frame_path),
            "--frames",
            str(frames),
            "--warmup",
            str(WARMUP_FRAMES),
            "--cpu",
            str(cpu),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(
            f"posture_direct.py failed ({completed.returncode}):\n{completed.stderr[-3000:]}"
        )
    return json.loads(lines[-1])


def _percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


class Stream:
    """One posture websocket: frames out; results in, by the service's frame number and in
    order of arrival."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.sent: dict[int, float] = {}  # frame number -> send time
        self.results: dict[int, tuple[float, dict]] = {}  # frame number -> (arrival, result)
        self._arrivals: asyncio.Queue[dict] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            message = json.loads(raw)
            if message["type"] == "error":
                raise RuntimeError(f"posture service: {message['error']}")
            if message["type"] == "result":  # (not ready, calibration progress, alerts ...)
                self.results[message["frame"]] = (time.perf_counter(), message)
                self._arrivals.put_nowait(message)

    async def send(self, frame: bytes) -> int:
        """Send a frame; returns the number the service gives it (1, 2, ... per session)."""
        if self._reader.done():
            self._reader.result()  # raises what stopped the reader
            raise RuntimeError("the posture websocket closed")
        number = len(self.sent) + 1
        self.sent[number] = time.perf_counter()
        await self.ws.send(frame)
        return number

    async def next_result(self, timeout_s: float = 10.0) -> dict:
        """The next result to arrive (each one once)."""
        getter = asyncio.ensure_future(self._arrivals.get())
        done, _ = await asyncio.wait(
            {getter, self._reader}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
        if getter in done:
            return getter.result()
        getter.cancel()
        if self._reader in done:
            self._reader.result()
            raise RuntimeError("the posture websocket closed")
        raise TimeoutError(f"no result within {timeout_s} s")

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
            await self._reader


async def _closed_loop(
    stream: Stream, frame: bytes, frames: int, in_flight: int, pid: int | None = None
) -> dict:
    """`frames` frames, at most `in_flight` unanswered at a time: one more is sent as each
    result arrives. With 1 the service idles while a result travels back and the next frame
    comes in; with 2 one frame always waits in its slot, so the estimator never idles."""
    cpu_began, began = (_cpu_s(pid) if pid else 0.0), time.perf_counter()
    numbers = [await stream.send(frame) for _ in range(min(in_flight, frames))]
    answered, dropped, states = [], 0, Counter()
    while len(answered) + dropped < frames:
        result = await stream.next_result()
        answered.append(result["frame"])
        dropped += result["dropped"]
        states[result["state"]] += 1
        if len(numbers) < frames:
            numbers.append(await stream.send(frame))
    wall = time.perf_counter() - began
    cpu = (_cpu_s(pid) - cpu_began) if pid else 0.0
    rtts = [(stream.results[n][0] - stream.sent[n]) * 1000 for n in answered]
    server = [stream.results[n][1]["latency_ms"] for n in answered]
    return {
        "frames": frames,
        "in_flight": in_flight,
        "answered": len(answered),
        "dropped": dropped,
        "wall_s": round(wall, 3),
        "frames_per_s": round(len(answered) / wall, 2),
        "rtt_median_ms": round(statistics.median(rtts), 2),
        "server_median_ms": round(statistics.median(server), 2),
        "service_cpu_util": round(cpu / wall, 2),
        "service_cpu_ms_per_frame": round(cpu * 1000 / len(answered), 2),
        "states": dict(states),
    }


async def _open_loop(stream: Stream, frame: bytes, frames: int, fps: float) -> dict:
    """`frames` frames at `fps`, whatever the answers; each is answered or dropped (replaced by
    a newer one in the service's slot), and the last one is always answered."""
    period = 1 / fps
    numbers = []
    began = time.perf_counter()
    for i in range(frames):
        delay = began + i * period - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        numbers.append(await stream.send(frame))
    while numbers[-1] not in stream.results:
        await stream.next_result()
    answered = [n for n in numbers if n in stream.results]
    latencies = sorted((stream.results[n][0] - stream.sent[n]) * 1000 for n in answered)
    server = sorted(stream.results[n][1]["latency_ms"] for n in answered)
    return {
        "fps": fps,
        "frames": frames,
        "answered": len(answered),
        "dropped": frames - len(answered),
        "p50_ms": round(_percentile(latencies, 0.5), 2),
        "p95_ms": round(_percentile(latencies, 0.95), 2),
        "max_ms": round(latencies[-1], 2),
        "server_p50_ms": round(_percentile(server, 0.5), 2),
    }


async def run_service(
    service: PostureService, frame: bytes, closed_frames: int, open_frames: int, fps: float
) -> dict:
    token = issue_token(BENCH_USER_ID, service.jwt_secret, 3600).token
    url = service.base_url.replace("http", "ws", 1) + "/v1/posture/stream"
    async with websockets.connect(
        url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=None
    ) as ws:
        stream = Stream(ws)
        pid = service.process.pid
        try:
            await _closed_loop(stream, frame, WARMUP_FRAMES, in_flight=1)
            closed = await _closed_loop(stream, frame, closed_frames, in_flight=1, pid=pid)
            saturated = await _closed_loop(stream, frame, closed_frames, in_flight=2, pid=pid)
            opened = await _open_loop(stream, frame, open_frames, fps)
        finally:
            await stream.close()
    return {
        "closed_loop": closed,
        "closed_loop_2_in_flight": saturated,
        "open_loop": opened,
        "service_rss_peak_mb": _rss_mb(service.process.pid),
    }
