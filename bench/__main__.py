"""`python -m bench`: run every benchmark once, print a compact report, write it as JSON."""

import argparse
import asyncio
import json
import os
import platform
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from infra.processes import REPO

from . import (
    board_listing,
    http_capacity,
    mural_overhead,
    pipeline_idle,
    posture_frames,
    preview_cost,
    queue_throughput,
    ws_latency,
)
from .environment import (
    Bench,
    postgres_reachable,
    posture_service,
    posture_unavailable,
    process_fd_limit,
    raise_fd_limit,
    redis_version,
)

OUTPUT = REPO / "var" / "bench" / "latest.json"
# arq's default poll_delay (0.5 s) bounds how soon it sees new jobs; also run it tuned.
ARQ_FAST_POLL_S = 0.01


def _run(coro):
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--jobs",
        type=int,
        default=int(os.environ.get("BENCH_JOBS", 200)),
        help="no-op jobs per queue run (default 200)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="measured batches per queue run; the median is reported",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=8,
        help="concurrent producers submitting/enqueueing (default 8)",
    )
    ws_latency.add_arguments(parser)
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL run")
    parser.add_argument(
        "--no-mural",
        action="store_true",
        help="skip the worker overhead per mural job (tiny pipeline, direct vs system)",
    )
    parser.add_argument(
        "--mural-jobs",
        type=int,
        default=20,
        help="mural jobs timed each way, direct and through the system (default 20)",
    )
    parser.add_argument(
        "--mural-steps", type=int, default=4, help="denoising steps per mural job (default 4)"
    )
    parser.add_argument(
        "--no-previews",
        action="store_true",
        help="skip the live preview cost per denoising step (tiny pipeline, in process)",
    )
    parser.add_argument(
        "--no-posture",
        action="store_true",
        help="skip the posture section (MediaPipe Pose direct vs through the service, 1 core)",
    )
    parser.add_argument(
        "--posture-frames",
        type=int,
        default=150,
        help="frames timed direct and through the service, closed loop (default 150)",
    )
    parser.add_argument(
        "--posture-open-frames",
        type=int,
        default=80,
        help="frames sent at --posture-fps for the latency run (default 80)",
    )
    parser.add_argument("--posture-fps", type=float, default=10.0)
    parser.add_argument(
        "--no-board",
        action="store_true",
        help="skip the board listing latency (10k posts, 100k likes; SQLite and PostgreSQL)",
    )
    parser.add_argument(
        "--board-repeat",
        type=int,
        default=board_listing.REPEAT,
        help=f"timed requests per board request kind (default {board_listing.REPEAT})",
    )
    parser.add_argument(
        "--no-http",
        action="store_true",
        help="skip the HTTP capacity of one API process with wrk (alone: python -m "
        "bench.http_capacity)",
    )
    parser.add_argument(
        "--http-duration",
        type=int,
        default=http_capacity.DURATION_S,
        help=f"seconds per wrk run (default {http_capacity.DURATION_S})",
    )
    parser.add_argument(
        "--no-idle",
        action="store_true",
        help="skip the pipeline idle time between back-to-back 12 MP mural jobs",
    )
    parser.add_argument("--idle-jobs", type=int, default=4, help="mural jobs each way")
    parser.add_argument("--idle-steps", type=int, default=8, help="denoising steps a job")
    parser.add_argument(
        "--idle-step-s",
        type=float,
        default=0.75,
        help="seconds a denoising step takes (default 0.75: 6 s a job, about what 30 steps "
        "of SD 1.5 at 768 px take on a mid-range GPU)",
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    return parser.parse_args(argv)


def main(argv: list[str]) -> dict:
    args = _parse(argv)
    began = time.perf_counter()
    soft, hard = raise_fd_limit()
    needed = max(args.ws_clients) + 200
    if soft < needed:
        raise SystemExit(
            f"RLIMIT_NOFILE {soft} (hard {hard}) is too low for "
            f"{max(args.ws_clients)} websockets; raise it to at least {needed}"
        )
    report: dict = {
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "redis_server": redis_version(),
            "rlimit_nofile_bench": [soft, hard],
            "loadavg_start": round(os.getloadavg()[0], 2),
        },
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    queue: dict = {}
    report["queue"] = queue
    bench = Bench()
    try:
        step("SQLite system: API + 1 worker")
        with bench.system("sqlite", bench.sqlite_url()) as system:
            report["machine"]["rlimit_nofile_api"] = process_fd_limit(system.api.pid)
            step(f"ours (SQLite): {args.jobs} no-op jobs")
            queue["ours_sqlite"] = _run(
                queue_throughput.ours(
                    system.base_url, bench.redis_url, args.jobs, args.concurrency, args.repeat
                )
            )
            counts = ", ".join(str(n) for n in sorted(args.ws_clients, reverse=True))
            step(f"websockets: 1 client, then {counts} clients, {args.ws_clients_per_task} a task")
            report["websocket"] = _run(
                ws_latency.run_from_args(args, system.base_url, bench.redis_url, system.api.pid)
            )

        step("SQLite system, QUEUE_ORDER=fifo (no fair turns): API + 1 worker")
        fifo_url = bench.sqlite_url("saekdam-fifo")
        with bench.system("sqlite-fifo", fifo_url, QUEUE_ORDER="fifo") as system:
            step(f"ours (SQLite, fifo): {args.jobs} no-op jobs")
            queue["ours_sqlite_fifo"] = _run(
                queue_throughput.ours(
                    system.base_url, bench.redis_url, args.jobs, args.concurrency, args.repeat
                )
            )

        arq_redis = bench.redis_db(1)
        step(f"arq (defaults, max_jobs=10): {args.jobs} no-op jobs")
        queue["arq"] = _run(
            queue_throughput.arq(
                arq_redis,
                args.jobs,
                args.concurrency,
                bench.tmp / "logs" / "arq-10.log",
                args.repeat,
            )
        )
        step(f"arq (poll_delay={ARQ_FAST_POLL_S}s): {args.jobs} no-op jobs")
        queue["arq_fast_poll"] = _run(
            queue_throughput.arq(
                arq_redis,
                args.jobs,
                args.concurrency,
                bench.tmp / "logs" / "arq-fast.log",
                args.repeat,
                poll_delay_s=ARQ_FAST_POLL_S,
            )
        )

        why = "--no-postgres" if args.no_postgres else postgres_reachable()
        if why:
            queue["ours_postgres"] = {"skipped": why}
            print(f"PostgreSQL run skipped: {why}", file=sys.stderr)
        else:
            step("PostgreSQL system: API + 1 worker")
            with bench.postgres() as url, bench.system("postgres", url) as system:
                step(f"ours (PostgreSQL): {args.jobs} no-op jobs")
                queue["ours_postgres"] = _run(
                    queue_throughput.ours(
                        system.base_url, bench.redis_url, args.jobs, args.concurrency, args.repeat
                    )
                )

        if args.no_board:
            report["board"] = {"skipped": "--no-board"}
        else:
            report["board"] = board_listing.run(
                bench, args.board_repeat, not args.no_postgres, step, _run
            )

        if args.no_http:
            report["http"] = {"skipped": "--no-http"}
        else:
            report["http"] = http_capacity.run(
                bench, args.http_duration, postgres=not args.no_postgres, log=step
            )

        if args.no_mural:
            report["mural"] = {"skipped": "--no-mural"}
        else:
            report["mural"] = _mural_overhead(bench, args)

        if args.no_idle:
            report["idle"] = {"skipped": "--no-idle"}
        else:
            step("pipeline idle: tiny models, 12 MP murals back to back")
            idle_models = mural_overhead.build_models(bench.tmp / "tiny-models-idle")
            report["idle"] = pipeline_idle.run(
                bench.tmp / "idle",
                idle_models,
                bench.redis_db(4),
                jobs=args.idle_jobs,
                steps=args.idle_steps,
                step_s=args.idle_step_s,
                log=step,
            )

        if args.no_previews:
            report["previews"] = {"skipped": "--no-previews"}
        else:
            step("live previews: tiny models, then the pipeline in this process")
            models_env = mural_overhead.build_models(bench.tmp / "tiny-models-previews")
            report["previews"] = preview_cost.run(models_env, log=step)

        why = "--no-posture" if args.no_posture else posture_unavailable()
        if why:
            report["posture"] = {"skipped": why}
        else:
            report["posture"] = _posture(bench, args)
    finally:
        bench.close()

    fair, fifo = queue.get("ours_sqlite", {}), queue.get("ours_sqlite_fifo", {})
    if "jobs_per_s" in fair and "jobs_per_s" in fifo:
        queue["fair_vs_fifo"] = round(fair["jobs_per_s"] / fifo["jobs_per_s"], 3)
    for name in ("ours_sqlite", "ours_sqlite_fifo", "ours_postgres"):
        ours = queue.get(name, {})
        if "jobs_per_s" in ours:
            ours["ratio_vs_arq"] = round(ours["jobs_per_s"] / queue["arq"]["jobs_per_s"], 3)
            ours["ratio_vs_arq_fast_poll"] = round(
                ours["jobs_per_s"] / queue["arq_fast_poll"]["jobs_per_s"], 3
            )
    report["notes"] = [
        *NOTES,
        ws_latency.NOTE,
        board_listing.NOTE,
        preview_cost.NOTE,
        http_capacity.NOTE,
        pipeline_idle.NOTE,
    ]
    report["machine"]["loadavg_end"] = round(os.getloadavg()[0], 2)
    report["elapsed_s"] = round(time.perf_counter() - began, 1)
    return report


def _mural_overhead(bench: Bench, args: argparse.Namespace) -> dict:
    began = time.perf_counter()
    step("tiny models for the mural pipeline")
    models_env = mural_overhead.build_models(bench.tmp / "tiny-models")
    photo, mask = mural_overhead.photo_and_mask()
    step("mural, direct: loading the tiny inpainting pipeline in this process")
    direct = mural_overhead.Direct(models_env, photo, mask, args.mural_steps)
    step("SQLite system with the tiny models: API + 1 worker")
    worker_env = {**models_env, **mural_overhead.WORKER_THREADS_ENV}
    with (
        bench.system("mural", bench.sqlite_url("mural"), **worker_env) as system,
        mural_overhead.one_torch_thread(),
    ):
        result = _run(
            mural_overhead.run(
                system.base_url,
                bench.redis_url,
                direct,
                photo,
                mask,
                args.mural_jobs,
                args.mural_steps,
                log=step,
            )
        )
    result["elapsed_s"] = round(time.perf_counter() - began, 1)
    return result


# One estimator thread; the per-session frame rate limit (15/s by default, clients send 1-10)
# lifted, so that one websocket can saturate the service in the closed loop.
POSTURE_ENV = {"ESTIMATOR_THREADS": "1", "MAX_FRAMES_PER_S": "1000"}


def _posture(bench: Bench, args: argparse.Namespace) -> dict:
    began = time.perf_counter()
    cpu, client_cpus = posture_frames.cpus()
    frame = posture_frames.make_frame()
    frame_path = bench.tmp / "posture-frame.jpg"
    frame_path.write_bytes(frame)
    step(f"posture, direct: MediaPipe Pose on {args.posture_frames} frames, pinned to CPU {cpu}")
    direct = posture_frames.direct(frame_path, args.posture_frames, cpu)
    step(f"posture service (ESTIMATOR_THREADS=1), pinned to CPU {cpu}")
    with (
        posture_service(bench.tmp / "posture", cpu=cpu, **POSTURE_ENV) as service,
        posture_frames.client_on(client_cpus),
    ):
        step(
            f"posture, service: {args.posture_frames} frames closed loop with 1 then 2 in "
            f"flight, {args.posture_open_frames} at {args.posture_fps:g} fps; client on CPUs "
            f"{client_cpus}"
        )
        result = _run(
            posture_frames.run_service(
                service, frame, args.posture_frames, args.posture_open_frames, args.posture_fps
            )
        )
    saturated = result["closed_loop_2_in_flight"]
    return {
        "frame": {
            "source": "skimage.data.astronaut",
            "size": f"{posture_frames.FRAME_WIDTH}x{posture_frames.FRAME_HEIGHT}",
            "jpeg_quality": posture_frames.JPEG_QUALITY,
            "bytes": len(frame),
        },
        "cpu": cpu,
        "client_cpus": client_cpus,
        "service_env": POSTURE_ENV,
        "service_threads_repinned": service.threads_repinned,
        "warmup_frames": posture_frames.WARMUP_FRAMES,
        "direct": direct,
        **result,
        "ratio_service_vs_direct": round(saturated["frames_per_s"] / direct["frames_per_s"], 3),
        "ratio_cpu_per_frame_service_vs_direct": round(
            saturated["service_cpu_ms_per_frame"] / direct["cpu_ms_per_frame"], 3
        ),
        "elapsed_s": round(time.perf_counter() - began, 1),
    }


NOTES = [
    "Fair turns: the default QUEUE_ORDER=fair has the workers' dispatcher put tasks on the "
    "stream round-robin across people, one waiting per worker; fifo is the old path (the API "
    "enqueues at submit). Same jobs, same machine, fresh SQLite each; the goal is fair/fifo "
    ">= 0.9.",
    "Ours: per job POST /v1/tasks + POST /v1/tasks/{id}/submit over HTTP (no upload), a database "
    "write per state transition (QUEUED, INPROGRESS, progress, COMPLETED), a tiny result PNG "
    "written to local storage, events published on Redis; done = COMPLETED seen on the "
    "saekdam:task-events channel. Arq: enqueue_job on Redis only; done = result key set. "
    "Both timed from the first request/enqueue to the last completion, one worker process each "
    "(ours runs one job at a time, arq up to max_jobs=10 at once), same redis-server, 5 warm-up "
    "jobs first. arq with its default poll_delay=0.5 s picks up new jobs at most twice a second "
    "(up to 100 per look), so it is also run with poll_delay=0.01 s (arqF).",
    "Mural overhead: the tiny SD1.5 inpainting pipeline (tests.fixtures.models, built into the "
    "bench's temp dir) with the ocean theme's LoRA, seed 7. direct = MuralPainter.paint in the "
    "bench process, loaded through the production ModelManager, on the alpha the job derives "
    "from the uploaded mask (computed once, outside the clock). system = the same photo and mask "
    "uploaded first, then POST submit (region mode mask) -> COMPLETED TaskEvent on Redis, one "
    "worker process on SQLite and local storage: HTTP, queue, claim/lease, reading and decoding "
    "the uploads, mask clean-up and feathering, progress events and DB writes per step, encoding "
    "and storing the result. Jobs alternate direct/system so load changes hit both; torch runs "
    "on one thread in both processes. The worker's first result is checked against the direct "
    "one.",
    "Posture: one frame, scikit-image's astronaut resized to 640x480, JPEG q85. direct = "
    "bench/posture_direct.py in .venv-posture pinned to one CPU: PIL decode + MediaPipe "
    "Pose(static_image_mode=True, model_complexity=1).process, back to back. service = the real "
    "posture service (ESTIMATOR_THREADS=1, SQLite), every thread pinned to the same CPU, the "
    "bench client on the other CPU(s), its per-session frame rate limit lifted "
    "(MAX_FRAMES_PER_S); one websocket with a Bearer token, binary frames in, a "
    "result per frame out (header check, decode and estimate on the estimator thread, scoring, "
    "JSON). closed loop = next frame sent when the previous result arrives (capacity, nothing "
    "dropped); open loop = frames at a fixed rate whatever the answers, latency = send -> "
    "result received on the client's clock. 10 warm-up frames on each side first.",
]


def step(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


def _row(cells: list, widths: list[int]) -> str:
    return "  ".join(
        str(c).ljust(w) if i == 0 else str(c).rjust(w)
        for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    )


def render(report: dict) -> str:
    m, q, cfg = report["machine"], report["queue"], report["config"]
    lines = [
        f"Saekdam bench, {report['run_at']}: {m['cpus']} CPUs, Python {m['python']}, "
        f"redis-server {m['redis_server']}, RLIMIT_NOFILE bench {m['rlimit_nofile_bench'][0]} "
        f"/ API {m.get('rlimit_nofile_api')}, load average at start {m['loadavg_start']}",
        "",
        f"1. No-op job throughput: {cfg['jobs']} jobs per batch, median of {cfg['repeat']} "
        f"batches, {cfg['concurrency']} concurrent producers, 1 worker process each, same "
        "redis-server; first request -> last completion",
    ]
    widths = [38, 7, 13, 7, 9, 9, 10]
    lines.append(
        _row(
            ["queue", "jobs/s", "all batches", "wall s", "submit s", "ours/arq", "ours/arqF"],
            widths,
        )
    )
    labels = {
        "ours_sqlite": "ours: HTTP + SQLite + worker",
        "ours_sqlite_fifo": "ours, fifo (no fair turns): SQLite",
        "ours_postgres": "ours: HTTP + PostgreSQL + worker",
        "arq": "arq: defaults (max_jobs=10, poll 0.5s)",
        "arq_fast_poll": f"arqF: arq, poll_delay={ARQ_FAST_POLL_S}s",
    }
    for key in ("ours_sqlite", "ours_sqlite_fifo", "ours_postgres", "arq", "arq_fast_poll"):
        r = q.get(key)
        if r is None:
            continue
        if "skipped" in r:
            lines.append(_row([labels[key], "skipped", "", "", "", "", ""], widths))
            continue
        runs = r["runs_jobs_per_s"]
        lines.append(
            _row(
                [
                    labels[key],
                    f"{r['jobs_per_s']:.1f}",
                    f"{min(runs):.0f}-{max(runs):.0f}",
                    f"{r['wall_s']:.2f}",
                    f"{r['submit_s']:.2f}",
                    _ratio(r.get("ratio_vs_arq")),
                    _ratio(r.get("ratio_vs_arq_fast_poll")),
                ],
                widths,
            )
        )
    if "skipped" in q.get("ours_postgres", {}):
        lines.append(f"   PostgreSQL skipped: {q['ours_postgres']['skipped']}")
    if "fair_vs_fifo" in q:
        lines.append(
            f"   fair turns against fifo (both SQLite): {q['fair_vs_fifo']:.2f}x the throughput"
        )
    lines += [
        "   ours = HTTP create+submit, DB write per transition, result file, events; "
        "arq = Redis only.",
        "",
    ]
    lines += ws_latency.render(report.get("websocket"))
    lines += _render_mural(report.get("mural"))
    lines += _render_posture(report.get("posture"))
    lines += board_listing.render(report.get("board"))
    lines += preview_cost.render(report.get("previews"))
    lines += http_capacity.render(report.get("http"))
    lines += pipeline_idle.render(report.get("idle"))
    lines += ["", f"total {report['elapsed_s']:.0f} s; JSON: {report['config']['output']}"]
    return "\n".join(lines)


def _render_mural(r: dict | None) -> list[str]:
    if not r:
        return []
    title = "3. Worker overhead per mural job (tiny pipeline)"
    if "skipped" in r:
        return ["", f"{title}: skipped ({r['skipped']})"]
    d, s = r["direct"], r["system"]
    widths = [44, 9, 8, 8]
    lines = [
        "",
        f"{title}: theme {r['theme']}, {r['steps']} steps, {r['photo']} photo + uploaded "
        f"mask, diffusion at {r['working_size']} on CPU; {r['jobs']} jobs each way, "
        f"interleaved, after {r['warmup_jobs']} warm-ups each; 1 torch thread each",
        _row(["path", "median ms", "min ms", "max ms"], widths),
        _row(
            [
                "direct: MuralPainter.paint in-process",
                f"{d['median_ms']:.1f}",
                f"{d['min_ms']:.1f}",
                f"{d['max_ms']:.1f}",
            ],
            widths,
        ),
        _row(
            [
                "system: submit -> COMPLETED (API + worker)",
                f"{s['median_ms']:.1f}",
                f"{s['min_ms']:.1f}",
                f"{s['max_ms']:.1f}",
            ],
            widths,
        ),
        f"   overhead per job {r['overhead_ms']:.1f} ms (difference of the medians; of the "
        f"minimums {s['min_ms'] - d['min_ms']:.1f} ms); system/direct "
        f"{r['ratio_system_vs_direct']:.2f}x",
        f"   system median split: submit -> INPROGRESS {s['submit_to_inprogress_median_ms']:.1f} "
        f"ms, INPROGRESS -> COMPLETED {s['inprogress_to_completed_median_ms']:.1f} ms; with "
        f"create + 2 uploads {s['with_uploads_median_ms']:.1f} ms",
        f"   warm-up: worker's first job {s['warmup_ms'][0] / 1000:.1f} s (loads the pipeline), "
        f"direct load {d['load_s']:.1f} s; worker's result "
        + (
            f"({r['result_content_type']}) pixel-identical to the direct one"
            + (" put through the same JPEG encoding" if "jpeg" in r["result_content_type"] else "")
            if r["result_identical_to_direct"]
            else f"differs from the direct one (max |diff| {r['result_vs_direct_max_abs_diff']})"
        ),
    ]
    return lines


def _render_posture(r: dict | None) -> list[str]:
    if not r:
        return []
    title = "4. Posture frames: MediaPipe Pose direct vs through the service, one CPU each"
    if "skipped" in r:
        return ["", f"{title}: skipped ({r['skipped']})"]
    d, o, f = r["direct"], r["open_loop"], r["frame"]
    c1, c2 = r["closed_loop"], r["closed_loop_2_in_flight"]
    shared = " (shared with the client)" if r["cpu"] in r["client_cpus"] else ""
    widths = [52, 6, 8, 9, 5, 11, 7]
    lines = [
        "",
        f"{title}: {f['size']} JPEG q{f['jpeg_quality']} ({f['bytes'] / 1000:.0f} kB, "
        f"{f['source']}), measured side on CPU {r['cpu']}{shared}, client on CPUs "
        f"{r['client_cpus']}; service "
        + ", ".join(f"{k}={v}" for k, v in r["service_env"].items()),
        _row(["path", "frames", "frames/s", "median ms", "CPU", "CPU ms/frm", "dropped"], widths),
        _row(
            [
                "direct: PIL decode + Pose.process, back to back",
                d["frames"],
                f"{d['frames_per_s']:.1f}",
                f"{d['median_ms']:.1f}",
                f"{d['cpu_util'] * 100:.0f}%",
                f"{d['cpu_ms_per_frame']:.1f}",
                "",
            ],
            widths,
        ),
    ]
    for label, c in (
        ("service, closed loop: next frame on each result", c1),
        ("service, closed loop, 2 in flight (saturated)", c2),
    ):
        lines.append(
            _row(
                [
                    label,
                    c["frames"],
                    f"{c['frames_per_s']:.1f}",
                    f"{c['rtt_median_ms']:.1f}",
                    f"{c['service_cpu_util'] * 100:.0f}%",
                    f"{c['service_cpu_ms_per_frame']:.1f}",
                    c["dropped"],
                ],
                widths,
            )
        )
    lines += [
        f"   service/direct: {r['ratio_service_vs_direct']:.2f}x frames/s on one core "
        f"(saturated), {r['ratio_cpu_per_frame_service_vs_direct']:.2f}x CPU per frame; "
        f"service median ms = send -> result at the client ({c1['server_median_ms']:.1f} ms "
        "of it frame arrival -> answer inside the service, 1 in flight)",
        f"   open loop {o['fps']:g} fps, {o['frames']} frames: send -> result p50 "
        f"{o['p50_ms']:.1f} ms, p95 {o['p95_ms']:.1f} ms, max {o['max_ms']:.1f} ms "
        f"(inside the service p50 {o['server_p50_ms']:.1f} ms); {o['answered']} answered, "
        f"{o['dropped']} dropped",
        f"   pose found in {d['pose_found']}/{d['frames']} direct frames; service states "
        + ", ".join(f"{k} {v}" for k, v in sorted(c1["states"].items()))
        + f"; service peak RSS {r['service_rss_peak_mb']} MB; {r['elapsed_s']:.0f} s",
    ]
    return lines


def _ratio(value) -> str:
    return "" if value is None else f"{value:.2f}"


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    result = main(sys.argv[1:])
    output = Path(result["config"]["output"])
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(render(result))
    if result.get("http", {}).get("failed"):
        sys.exit("the HTTP capacity section got responses outside 2xx (see its FAILED lines)")
