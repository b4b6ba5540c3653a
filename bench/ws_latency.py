"""Websocket delivery latency and memory: PUBLISH on the task-events channel -> frame at a
client, for 1 client and then for each client count (1,000 and 5,000 by default).

Clients connect to the real API's `/v1/tasks/{id}/events` with an `Authorization: Bearer`
header, offering permessage-deflate as browsers do, and read the snapshot first. They live in
`--ws-client-procs` processes (`bench/ws_client.py`), so that opening and reading thousands
of sockets is not itself the bottleneck. The bench publishes TaskEvent frames itself, with
seq above the snapshot's, so the timing does not depend on the worker. Every frame carries its
send time (perf_counter, CLOCK_MONOTONIC: one clock for every process on the machine) and the
client that receives it takes the latency. Two load shapes, on the same connections:

- steady: every task gets one event per `period`; the tasks' publishes are spread evenly over
  the period (a steady stream, like many jobs reporting progress at their own pace).
- burst: every task gets an event at the same instant (one pipelined batch), so every socket
  receives at once ("burst to all"); latency here is mostly the time the API needs to fan out
  the whole batch, and a socket served late in the batch shows up in the p99.

Memory: the API process's RSS before the sockets open and once they are all idle past their
snapshot, divided by the count. Counts run largest first, so memory the process freed after
an earlier, larger run cannot make a later one look cheaper than it is.
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from redis.asyncio import Redis

from saekdam_contracts.events import TaskEvent
from saekdam_contracts.redis_keys import TASK_EVENTS_CHANNEL
from saekdam_contracts.status import TaskStatus

from . import ws_client

BASELINE_ROUNDS = 40
BASELINE_PERIOD_S = 0.05
# Sockets settle (the API's per-socket tasks reach their first wait) before RSS is read.
IDLE_SETTLE_S = 2.0
DELIVERY_TIMEOUT_S = 30.0


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


def _percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def _cpu_s(pid: int | None) -> float | None:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_kib(pid: int | None) -> int | None:
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


async def create_tasks(http: httpx.AsyncClient, count: int) -> list[str]:
    sem = asyncio.Semaphore(16)

    async def one() -> str:
        async with sem:
            response = await http.post("/v1/tasks")
            if response.status_code != 201:
                raise RuntimeError(f"create task: {response.status_code} {response.text}")
            return response.json()["task_id"]

    return list(await asyncio.gather(*(one() for _ in range(count))))


# A progress TaskEvent with three holes: task id, seq, stage (which carries the send time).
_TEMPLATE = (
    TaskEvent(
        type="progress",
        task_id="@TASK@",
        seq=123456789,
        status=TaskStatus.INPROGRESS,
        progress=0.5,
        stage="@STAGE@",
    )
    .model_dump_json()
    .replace("%", "%%")
    .replace("@TASK@", "%s")
    .replace("123456789", "%d")
    .replace("@STAGE@", "bench %s %d %r")
)


def _frame(task_id: str, seq: int, phase: str, round_: int, sent: float) -> str:
    return _TEMPLATE % (task_id, seq, phase, round_, sent)


class Clients:
    """The client processes of one run, each holding its share of the sockets."""

    def __init__(self, base_url: str, token: str, watched: list[str], processes: int):
        context = multiprocessing.get_context("spawn")
        self.count = len(watched)
        self.conns, self.processes = [], []
        for share in (watched[i::processes] for i in range(processes)):
            if not share:
                continue
            parent, child = context.Pipe()
            process = context.Process(
                target=ws_client.process_main, args=(child, base_url, token, share), daemon=True
            )
            process.start()
            child.close()
            self.conns.append(parent)
            self.processes.append(process)

    async def ready(self) -> tuple[dict[str, int], float]:
        seqs: dict[str, int] = {}
        connect_s = 0.0
        self.connected, self.refused, self.refusals = 0, 0, []
        for conn in self.conns:
            answer = await asyncio.to_thread(conn.recv)
            if "error" in answer:
                raise RuntimeError(f"websocket client process: {answer['error']}")
            for task, seq in answer["snapshot_seqs"].items():
                seqs[task] = max(seqs.get(task, -1), seq)
            connect_s = max(connect_s, answer["connect_s"])
            self.connected += answer["sockets"]
            self.refused += answer["refused_count"]
            self.refusals += answer["refused"][:3]
        return seqs, connect_s

    def received(self, phase: str) -> int:
        for conn in self.conns:
            conn.send(("count", phase))
        return sum(conn.recv() for conn in self.conns)

    async def report(self) -> list[dict]:
        for conn in self.conns:
            conn.send(("report",))
        return [await asyncio.to_thread(conn.recv) for conn in self.conns]

    def close(self) -> None:
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()


async def _publish_phase(redis: Redis, phase: Phase, tasks: list[str], seq_base: dict) -> None:
    next_at = time.perf_counter()
    step_s = phase.period_s if phase.burst else phase.period_s / len(tasks)
    for r in range(phase.total):
        if phase.burst:
            sent = time.perf_counter()
            async with redis.pipeline(transaction=False) as pipe:
                for t in tasks:
                    pipe.publish(
                        TASK_EVENTS_CHANNEL, _frame(t, seq_base[t] + r + 1, phase.name, r, sent)
                    )
                await pipe.execute()
            next_at += step_s
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            continue
        for t in tasks:
            sent = time.perf_counter()
            await redis.publish(
                TASK_EVENTS_CHANNEL, _frame(t, seq_base[t] + r + 1, phase.name, r, sent)
            )
            next_at += step_s
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))


async def measure(
    base_url: str,
    redis_url: str,
    token: str,
    task_ids: list[str],
    clients: int,
    phases: list[Phase],
    api_pid: int | None = None,
    processes: int = 1,
) -> dict:
    """`clients` websockets spread evenly over `task_ids`, then each phase's publishes."""
    watched = [task_ids[i % len(task_ids)] for i in range(clients)]
    rss_before = _rss_kib(api_pid)
    pool = Clients(base_url, token, watched, min(processes, clients))
    redis = Redis.from_url(redis_url)
    try:
        base_seq, connect_s = await pool.ready()
        await asyncio.sleep(IDLE_SETTLE_S)
        rss_idle = _rss_kib(api_pid)
        tasks = list(base_seq)
        await redis.ping()
        timings = []
        for phase in phases:
            cpu_before, wall_before = _cpu_s(api_pid), time.perf_counter()
            await _publish_phase(redis, phase, tasks, base_seq)
            # Let the phase's frames arrive before the next phase starts.
            expected = pool.connected * phase.total
            deadline = time.perf_counter() + DELIVERY_TIMEOUT_S
            while pool.received(phase.name) < expected and time.perf_counter() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            cpu_after, wall_after = _cpu_s(api_pid), time.perf_counter()
            api_cpu = None if None in (cpu_before, cpu_after) else cpu_after - cpu_before
            timings.append((api_cpu, wall_after - wall_before))
            base_seq = {t: s + phase.total for t, s in base_seq.items()}
        reports = await pool.report()
    finally:
        await redis.aclose()
        pool.close()
    for report in reports:
        if "error" in report:
            raise RuntimeError(f"websocket client process: {report['error']}")
    result = {
        "clients": clients,
        "tasks": len(task_ids),
        "client_processes": len(pool.processes),
        "connect_s": round(connect_s, 3),
        "api_rss_before_kib": rss_before,
        "api_rss_idle_kib": rss_idle,
        "idle_kib_per_socket": (
            None
            if None in (rss_before, rss_idle) or not pool.connected
            else round((rss_idle - rss_before) / pool.connected, 1)
        ),
        "refused": pool.refused,
        "refusals": pool.refusals,
        "out_of_order": sum(r["out_of_order"] for r in reports),
        "closed_early": sum(r["closed_early"] for r in reports),
    }
    for phase, (api_cpu, wall_s) in zip(phases, timings, strict=True):
        result[phase.name] = _summarise(
            phase, pool.connected, len(task_ids), reports, api_cpu, wall_s
        )
    return result


def _summarise(
    phase: Phase,
    clients: int,
    tasks: int,
    reports: list[dict],
    api_cpu: float | None,
    wall_s: float,
) -> dict:
    latencies: list[float] = []
    round_max = [0.0] * phase.rounds
    for report in reports:
        values = report["latencies_ms"].get(phase.name, [])
        rounds = report["rounds"].get(phase.name, [])
        for latency, r in zip(values, rounds, strict=True):
            if r < phase.warmup_rounds:
                continue
            latencies.append(latency)
            i = r - phase.warmup_rounds
            round_max[i] = max(round_max[i], latency)
    latencies.sort()
    if not latencies:
        raise RuntimeError(f"{phase.name}: no frame arrived")
    return {
        "phase": phase.name,
        "wall_s": round(wall_s, 3),
        "api_cpu_us_per_frame": None
        if api_cpu is None
        else round(1e6 * api_cpu / len(latencies), 1),
        "clients": clients,
        "tasks": tasks,
        "rounds": phase.rounds,
        "period_ms": round(phase.period_s * 1000, 1),
        "frames_per_s": round(clients / phase.period_s, 1),
        "frames": len(latencies),
        "missing": clients * phase.rounds - len(latencies),
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
    clients: list[int],
    clients_per_task: int,
    rounds: int,
    warmup_rounds: int,
    period_s: float,
    burst_rounds: int,
    burst_period_s: float,
    processes: int = 2,
    api_pid: int | None = None,
) -> dict:
    counts = sorted(set(clients), reverse=True)
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        response = await http.post("/v1/auth/guest")
        response.raise_for_status()
        token = response.json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        baseline_tasks = await create_tasks(http, 1)
        loaded_tasks = await create_tasks(http, -(-max(counts) // clients_per_task))
    # One client: the same frames, more often, for enough samples (it is idle either way).
    single = Phase("steady", BASELINE_ROUNDS, warmup_rounds, BASELINE_PERIOD_S, burst=False)
    baseline = await measure(base_url, redis_url, token, baseline_tasks, 1, [single], api_pid)
    phases = [Phase("steady", rounds, warmup_rounds, period_s, burst=False)]
    if burst_rounds:
        phases.append(Phase("burst", burst_rounds, 1, burst_period_s, burst=True))
    runs = []
    for count in counts:
        tasks = loaded_tasks[: -(-count // clients_per_task)]
        runs.append(
            await measure(base_url, redis_url, token, tasks, count, phases, api_pid, processes)
        )
    for r in runs:
        r["p50_ratio"] = round(r["steady"]["p50_ms"] / baseline["steady"]["p50_ms"], 2)
        r["p99_ratio"] = round(r["steady"]["p99_ms"] / baseline["steady"]["p99_ms"], 2)
    return {"baseline": baseline, "runs": sorted(runs, key=lambda r: r["clients"])}


def add_arguments(parser: argparse.ArgumentParser, prefix: str = "--ws-") -> None:
    parser.add_argument(
        f"{prefix}clients",
        type=int,
        nargs="+",
        default=[1000, 5000],
        help="websocket client counts, each its own run on one API process (default 1000 5000)",
    )
    parser.add_argument(
        f"{prefix}clients-per-task",
        type=int,
        default=10,
        help="sockets watching each task (default 10: 100 tasks for 1,000 clients)",
    )
    parser.add_argument(
        f"{prefix}client-procs",
        type=int,
        default=2,
        help="processes the clients are spread over (default 2)",
    )
    parser.add_argument(
        f"{prefix}rounds",
        type=int,
        default=12,
        help="measured steady rounds: one event per task per round",
    )
    parser.add_argument(f"{prefix}warmup-rounds", type=int, default=2)
    parser.add_argument(
        f"{prefix}period-ms",
        type=float,
        default=250.0,
        help="steady: each task gets an event this often, tasks staggered",
    )
    parser.add_argument(
        f"{prefix}burst-rounds",
        type=int,
        default=5,
        help="burst: every task's event at once, reaching every socket (0 to skip)",
    )
    parser.add_argument(f"{prefix}burst-period-ms", type=float, default=500.0)


def run_from_args(args: argparse.Namespace, base_url: str, redis_url: str, api_pid: int | None):
    return run(
        base_url,
        redis_url,
        clients=args.ws_clients,
        clients_per_task=args.ws_clients_per_task,
        rounds=args.ws_rounds,
        warmup_rounds=args.ws_warmup_rounds,
        period_s=args.ws_period_ms / 1000,
        burst_rounds=args.ws_burst_rounds,
        burst_period_s=args.ws_burst_period_ms / 1000,
        processes=args.ws_client_procs,
        api_pid=api_pid,
    )


def _row(cells: list, widths: list[int]) -> str:
    return "  ".join(
        str(c).ljust(w) if i == 0 else str(c).rjust(w)
        for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    )


def render(ws: dict | None, number: int = 2) -> list[str]:
    if not ws:
        return []
    title = f"{number}. Websocket delivery, PUBLISH on Redis -> frame at client (real API)"
    if "skipped" in ws:
        return [f"{title}: skipped ({ws['skipped']})"]
    widths = [16, 7, 5, 7, 7, 5, 8, 8, 8, 8]
    header = ["load", "clients", "tasks", "frame/s", "frames", "lost"]
    lines = [title, _row([*header, "p50 ms", "p99 ms", "max ms", "API cpu"], widths)]
    b = ws["baseline"]
    rows = [("steady", b["steady"])]
    for r in ws["runs"]:
        rows += [(name, r[name]) for name in ("steady", "burst") if name in r]
    for label, r in rows:
        cpu = "" if r["api_cpu_pct"] is None else f"{r['api_cpu_pct']:.0f}%"
        cells = [f"{label} {r['period_ms']:.0f}ms", r["clients"], r["tasks"]]
        cells += [f"{r['frames_per_s']:.0f}", r["frames"], r["missing"]]
        cells += [f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}", f"{r['max_ms']:.2f}", cpu]
        lines.append(_row(cells, widths))
    for r in ws["runs"]:
        kib = r["idle_kib_per_socket"]
        lines.append(
            f"   {r['clients']} clients ({r['client_processes']} processes): "
            f"{r['clients'] - r['refused']} connected with snapshot in {r['connect_s']:.2f} s "
            f"({r['refused']} refused); API RSS +{kib if kib is not None else '?'} "
            f"KiB per idle socket; steady p50/p99 {r['p50_ratio']:.2f}x/{r['p99_ratio']:.2f}x "
            f"the 1-client baseline; {r['out_of_order']} frames out of seq order, "
            f"{r['closed_early']} sockets closed early"
        )
    lines += [
        "   steady: one event per task per period, tasks staggered evenly; burst: every "
        "task at once, so every socket receives at once. Clients share the cores with the API.",
    ]
    return lines


NOTE = (
    "Websockets: every client on its own connection with an Authorization header and a "
    "permessage-deflate offer (as browsers send), snapshot read first; the clients are a bare "
    "asyncio protocol spread over --ws-client-procs processes (uvloop, cyclic GC paused while "
    "measuring) on the same 2 cores as the API. The bench publishes TaskEvent frames itself "
    "(seq above the snapshot's), each carrying its send time (CLOCK_MONOTONIC), and the "
    "receiving client takes the latency. steady: one event per task per period, the tasks' "
    "publishes staggered evenly; burst: all tasks' events in one pipelined batch, reaching "
    "every socket at once. The 1-client baseline gets an event every 50 ms for more samples. "
    "KiB per idle socket = API RSS after the sockets opened and settled minus before, over "
    "the count; counts run largest first."
)


def _main(argv: list[str]) -> None:
    from infra.processes import REPO

    from .environment import Bench, raise_fd_limit

    parser = argparse.ArgumentParser(prog="python -m bench.ws_latency", description=__doc__)
    add_arguments(parser)
    parser.add_argument("--output", type=Path, default=REPO / "var" / "bench" / "ws_latency.json")
    args = parser.parse_args(argv)
    soft, _ = raise_fd_limit()
    if soft < max(args.ws_clients) + 200:
        raise SystemExit(f"RLIMIT_NOFILE {soft} is too low for {max(args.ws_clients)} sockets")
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    began = time.perf_counter()
    bench = Bench()
    try:
        with bench.system("ws", bench.sqlite_url()) as system:
            result = runner(run_from_args(args, system.base_url, bench.redis_url, system.api.pid))
    finally:
        bench.close()
    result["elapsed_s"] = round(time.perf_counter() - began, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print("\n".join(render(result)))
    print(f"total {result['elapsed_s']:.0f} s; JSON: {args.output}")


if __name__ == "__main__":
    _main(sys.argv[1:])
