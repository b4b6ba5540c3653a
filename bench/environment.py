"""What the benchmarks run against (redis-server, databases, API, worker and posture
processes), and tearing all of it down afterwards, on error too."""

import contextlib
import os
import resource
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from infra.databases import fresh_postgres_database, run_admin
from infra.processes import (
    POSTURE_PYTHON,
    free_port,
    migrate,
    port_open,
    python_module,
    redis_server_binary,
    start_redis,
    stop,
    wait_for,
)
from tests.fixtures.system import System, start_system, storage_env

POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL",
    os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"),
)


def raise_fd_limit() -> tuple[int, int]:
    """Soft RLIMIT_NOFILE up to the hard limit. Children (the API) inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def process_fd_limit(pid: int) -> int | None:
    """The soft open-files limit of a running process, from /proc (Linux)."""
    try:
        for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
            if line.startswith("Max open files"):
                value = line.split()[3]
                return None if value == "unlimited" else int(value)
    except OSError:
        pass
    return None


def redis_version() -> str:
    out = subprocess.run([redis_server_binary(), "--version"], capture_output=True, text=True)
    for part in out.stdout.split():
        if part.startswith("v="):
            return part[2:]
    return "unknown"


class Bench:
    """Owns a temp dir, one private redis-server and whatever is started on them."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self.tmp = Path(tempfile.mkdtemp(prefix="saekdam-bench-"))
        self._stack.callback(shutil.rmtree, self.tmp, True)
        process, self.redis_url = start_redis(self.tmp / "redis")
        self._stack.callback(stop, process)

    def redis_db(self, db: int) -> str:
        return self.redis_url.rsplit("/", 1)[0] + f"/{db}"

    def close(self) -> None:
        self._stack.close()

    def sqlite_url(self, name: str = "saekdam") -> str:
        url = f"sqlite+aiosqlite:///{self.tmp / f'{name}.db'}"
        migrate(url)
        return url

    @contextlib.contextmanager
    def postgres(self) -> Iterator[str]:
        """A fresh, migrated database on the PostgreSQL server, dropped afterwards."""
        with fresh_postgres_database(POSTGRES_ADMIN_URL, migrate, prefix="saekdam_bench") as url:
            yield url

    @contextlib.contextmanager
    def system(self, name: str, database_url: str, **overrides: str) -> Iterator[System]:
        """The real API process and one real worker process, the way the e2e tests run them."""
        root = self.tmp / name
        system = start_system(
            root,
            database_url=database_url,
            redis_url=self.redis_url,
            storage_env=storage_env("local", root, None),
            workers=1,
            **overrides,
        )
        try:
            log = system.log_dir / "worker-0.log"

            def ready() -> bool:
                if system.workers[0].poll() is not None:
                    raise RuntimeError("worker exited:\n" + log.read_text()[-3000:])
                return log.exists() and "worker ready" in log.read_text()

            wait_for(ready, 60, "worker did not become ready")
            yield system
        finally:
            system.shutdown()


# The user the posture benchmark signs its token for.
BENCH_USER_ID = "bench-user"


@dataclass(frozen=True)
class PostureService:
    process: subprocess.Popen
    base_url: str
    jwt_secret: str
    log: Path
    cpu: int | None
    # Threads found on another CPU after start-up and moved (0: all inherited the pinning).
    threads_repinned: int


def pin_process(pid: int, cpu: int) -> int:
    """Put every thread of `pid` on `cpu` (sched_setaffinity is per thread on Linux; threads
    started later inherit it from their creator). Returns how many threads had to be moved."""
    moved = 0
    for tid in (int(t) for t in os.listdir(f"/proc/{pid}/task")):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.sched_getaffinity(tid) != {cpu}:
                os.sched_setaffinity(tid, {cpu})
                moved += 1
    return moved


def posture_unavailable() -> str | None:
    """None if the posture service's environment exists, else why the section is skipped."""
    if not POSTURE_PYTHON.exists():
        return f"no {POSTURE_PYTHON} (make bench creates it)"
    return None


def _healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(base_url + "/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def posture_service(
    root: Path, cpu: int | None = None, **overrides: str
) -> Iterator[PostureService]:
    """The real posture service (`python -m saekdam_posture` in its own environment) on a
    migrated SQLite file, pinned to `cpu` if given; stopped on the way out, on error too."""
    root.mkdir(parents=True, exist_ok=True)
    url = f"sqlite+aiosqlite:///{root / 'posture.db'}"
    # The posture service looks up each token's user in the API's `users` table, as it does
    # on the shared database in `make run` and compose: migrate both, and add the bench user.
    migrate(url)
    migrate(url, "saekdam_posture.db.migrate", POSTURE_PYTHON)
    with contextlib.closing(sqlite3.connect(root / "posture.db")) as db, db:
        db.execute(
            "INSERT OR IGNORE INTO users (id, username, is_guest, is_admin, created_at)"
            " VALUES (?, ?, 0, 0, CURRENT_TIMESTAMP)",
            (BENCH_USER_ID, BENCH_USER_ID),
        )
    port = free_port()
    secret = secrets.token_urlsafe(48)
    env = {
        "DATABASE_URL": url,
        "JWT_SECRET": secret,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_JSON": "false",
        "LOG_LEVEL": "WARNING",
        **overrides,
    }
    log = root / "posture.log"
    process = python_module("saekdam_posture", env, log, python=POSTURE_PYTHON)
    try:
        if cpu is not None:
            # At once, while the interpreter is still starting: every thread it creates later
            # (MediaPipe's, the estimator pool's) inherits the affinity.
            pin_process(process.pid, cpu)
        base_url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError("posture service exited:\n" + log.read_text()[-3000:])
            return port_open("127.0.0.1", port) and _healthy(base_url)

        wait_for(ready, 90, "the posture service did not become ready", interval_s=0.1)
        moved = pin_process(process.pid, cpu) if cpu is not None else 0
        yield PostureService(process, base_url, secret, log, cpu, moved)
    finally:
        stop(process)


def postgres_reachable() -> str | None:
    """None if the admin database answers, else why not."""
    try:
        run_admin(POSTGRES_ADMIN_URL, "SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "skip", with the reason
        return f"{type(exc).__name__}: {exc}"
    return None
