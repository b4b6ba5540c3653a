"""Websocket delivery latency: from PUBLISH on the task-events channel to the frame at a client.

Clients connect to the real API's `/v1/tasks/{id}/events` with an `Authorization: Bearer`
header and read the snapshot first. Then the bench publishes TaskEvent frames itself, with seq
above the snapshot's, so the timing does not depend on the worker. The publish time of every
(task, seq) and the receive time at every client are both taken with perf_counter in this
process. Two load shapes, on the same connections:

- steady: every task gets one event per `period`; the tasks' publishes are spread evenly over
  the period (a steady stream, like many jobs reporting progress at their own pace).
- burst: every task gets an event at the same instant (one pipelined batch), so all clients
  receive at once; latency here is mostly the time the API needs to fan out the whole batch.
"""

import asyncio
import gc
import json
import os
import statistics
import time
from dataclasses import dataclass

import httpx
import websockets
from redis.asyncio import Redis

from saekdam_contracts.events import TaskEvent
from saekdam_contracts.redis_keys import TASK_EVENTS_CHANNEL
from saekdam_contracts.status import TaskStatus

CONNECT_CONCURRENCY = 100
BASELINE_ROUNDS = 40
BASELINE_PERIOD_S = 0.05


@dataclass(frozen=True)
class Phase:
    name: str
    rounds: int
    warmup_rounds: int
    period_s: float
    burst: bool

    @property
    def total(self) -> int:
        return self.warmup_rounds + self.rounds


class Watcher:
    def __init__(self, task_id: str):
        self.task_id = task_id
        self.snapshot_seq = -1
        self.received: dict[int, float] = {}


def _percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def _cpu_s(pid: int | None) -> float | None:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    if pid is None:
        return None
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def create_tasks(http: httpx.AsyncClient, count: int) -> list[str]:
    sem = asyncio.Semaphore(16)

    async def one() -> str:
        async with sem:
            response = await http.post("/v1/tasks")
            if response.status_code != 201:
                raise RuntimeError(f"create task: {response.status_code} {response.text}")
            return response.json()["task_id"]

    return list(await asyncio.gather(*(one() for _ in range(count))))


def _frame(task_id: str, seq: int) -> str:
    return TaskEvent(
        type="progress",
        task_id=task_id,
        seq=seq,
        status=TaskStatus.INPROGRESS,
        progress=0.5,
        stage="bench",
    ).model_dump_json()


async def measure(
    base_url: str,
    redis_url: str,
    token: str,
    task_ids: list[str],
    clients: int,
    phases: list[Phase],
    api_pid: int | None = None,
) -> list[dict]:
    """`clients` websockets spread evenly over `task_ids`, then each phase's publishes."""
    ws_base = base_url.replace("http://", "ws://", 1)
    headers = {"Authorization": f"Bearer {token}"}
    watchers = [Watcher(task_ids[i % len(task_ids)]) for i in range(clients)]
    sockets: list = []
    sem = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def connect(watcher: Watcher):
        async with sem:
            ws = await websockets.connect(
                f"{ws_base}/v1/tasks/{watcher.task_id}/events",
                additional_headers=headers,
                ping_interval=None,
                open_timeout=60,
                max_queue=None,
            )
            sockets.append(ws)
            snapshot = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if snapshot.get("type") != "snapshot":
                raise RuntimeError(f"first frame is not a snapshot: {snapshot}")
            watcher.snapshot_seq = snapshot["seq"]
            return ws

    redis = Redis.from_url(redis_url)
    readers: list[asyncio.Task] = []
    results = []
    try:
        connect_started = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            pending = [group.create_task(connect(w)) for w in watchers]
        connections = [p.result() for p in pending]
        connect_s = time.perf_counter() - connect_started
        # This process holds every client; its cyclic GC walking them all stalls the event
        # loop for a few hundred ms and would be counted as delivery latency. Not the API's.
        gc.collect()
        gc.disable()

        base_seq: dict[str, int] = {}
        for w in watchers:
            base_seq[w.task_id] = max(base_seq.get(w.task_id, -1), w.snapshot_seq)
        tasks = list(base_seq)
        last_offset = sum(p.total for p in phases)

        async def read(ws, watcher: Watcher) -> None:
            last = base_seq[watcher.task_id] + last_offset
            async for text in ws:
                seen = time.perf_counter()
                seq = json.loads(text)["seq"]
                watcher.received[seq] = seen
                if seq >= last:
                    return

        readers = [
            asyncio.create_task(read(ws, w)) for ws, w in zip(connections, watchers, strict=True)
        ]
        await redis.ping()
        offset = 0
        for phase in phases:
            published: dict[tuple[str, int], float] = {}
            cpu_before, wall_before = _cpu_s(api_pid), time.perf_counter()
            next_at = time.perf_counter()
            step_s = phase.period_s if phase.burst else phase.period_s / len(tasks)
            for r in range(phase.total):
                seq_of = {t: base_seq[t] + offset + r + 1 for t in tasks}
                if phase.burst:
                    frames = [_frame(t, seq_of[t]) for t in tasks]
                    async with redis.pipeline(transaction=False) as pipe:
                        for frame in frames:
                            pipe.publish(TASK_EVENTS_CHANNEL, frame)
                        sent = time.perf_counter()
                        await pipe.execute()
                    published.update({(t, seq_of[t]): sent for t in tasks})
                    next_at += step_s
                    await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                    continue
                for t in tasks:
                    frame = _frame(t, seq_of[t])
                    published[(t, seq_of[t])] = time.perf_counter()
                    await redis.publish(TASK_EVENTS_CHANNEL, frame)
                    next_at += step_s
                    await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            # Let the phase's last frames arrive before the next phase starts.
            last_seqs = {t: base_seq[t] + offset + phase.total for t in tasks}
            async with asyncio.timeout(30):
                while not all(last_seqs[w.task_id] in w.received for w in watchers):
                    if any(r.done() and r.exception() for r in readers):
                        break
                    await asyncio.sleep(0.01)
            cpu_after, wall_after = _cpu_s(api_pid), time.perf_counter()
            results.append(
                _summarise(
                    phase,
                    watchers,
                    base_seq,
                    offset,
                    published,
                    len(tasks),
                    connect_s,
                    cpu_before,
                    cpu_after,
                    wall_after - wall_before,
                )
            )
            offset += phase.total
        done, _ = await asyncio.wait(readers, timeout=10)
        for reader in done:
            reader.result()
    finally:
        gc.enable()
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        await redis.aclose()
    return results


def _summarise(
    phase: Phase,
    watchers: list[Watcher],
    base_seq: dict[str, int],
    offset: int,
    published: dict[tuple[str, int], float],
    tasks: int,
    connect_s: float,
    cpu_before: float | None,
    cpu_after: float | None,
    wall_s: float,
) -> dict:
    latencies: list[float] = []
    round_max = [0.0] * phase.rounds
    missing = 0
    for w in watchers:
        for r in range(phase.warmup_rounds, phase.total):
            seq = base_seq[w.task_id] + offset + r + 1
            at = w.received.get(seq)
            if at is None:
                missing += 1
            else:
                latency = (at - published[(w.task_id, seq)]) * 1000
                latencies.append(latency)
                i = r - phase.warmup_rounds
                round_max[i] = max(round_max[i], latency)
    latencies.sort()
    if not latencies:
        raise RuntimeError(f"{phase.name}: no frame arrived")
    api_cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return {
        "phase": phase.name,
        "clients": len(watchers),
        "tasks": tasks,
        "rounds": phase.rounds,
        "period_ms": round(phase.period_s * 1000, 1),
        "frames_per_s": round(len(watchers) / phase.period_s, 1),
        "frames": len(latencies),
        "missing": missing,
        "connect_s": round(connect_s, 3),
        "api_cpu_pct": None if api_cpu is None else round(100 * api_cpu / wall_s, 1),
        "p50_ms": round(_percentile(latencies, 0.50), 3),
        "p99_ms": round(_percentile(latencies, 0.99), 3),
        "max_ms": round(latencies[-1], 3),
        "mean_ms": round(statistics.fmean(latencies), 3),
        "round_max_ms": [round(x, 2) for x in round_max],
    }


async def run(
    base_url: str,
    redis_url: str,
    *,
    clients: int,
    tasks: int,
    rounds: int,
    warmup_rounds: int,
    period_s: float,
    burst_rounds: int,
    burst_period_s: float,
    api_pid: int | None = None,
) -> dict:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        response = await http.post("/v1/auth/guest")
        response.raise_for_status()
        token = response.json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        baseline_tasks = await create_tasks(http, 1)
        loaded_tasks = await create_tasks(http, tasks)
    steady = Phase("steady", rounds, warmup_rounds, period_s, burst=False)
    # One client: the same frames, more often, for enough samples (it is idle either way).
    single = Phase("steady", BASELINE_ROUNDS, warmup_rounds, BASELINE_PERIOD_S, burst=False)
    (baseline,) = await measure(base_url, redis_url, token, baseline_tasks, 1, [single], api_pid)
    phases = [steady]
    if burst_rounds:
        phases.append(Phase("burst", burst_rounds, 1, burst_period_s, burst=True))
    loaded = await measure(base_url, redis_url, token, loaded_tasks, clients, phases, api_pid)
    return {
        "baseline": baseline,
        "loaded": loaded[0],
        "burst": loaded[1] if burst_rounds else None,
        "p50_ratio": round(loaded[0]["p50_ms"] / baseline["p50_ms"], 2),
        "p99_ratio": round(loaded[0]["p99_ms"] / baseline["p99_ms"], 2),
    }
