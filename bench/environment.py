"""What the benchmarks run against (redis-server, databases, API and worker processes), and
tearing all of it down afterwards, on error too."""

import asyncio
import contextlib
import os
import resource
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from infra.processes import migrate, redis_server_binary, start_redis, stop, wait_for
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
        name = f"saekdam_bench_{uuid.uuid4().hex[:12]}"
        _run_admin(f'CREATE DATABASE "{name}"')
        try:
            base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
            url = f"{base}/{name}"
            migrate(url)
            yield url
        finally:
            _run_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

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


def postgres_reachable() -> str | None:
    """None if the admin database answers, else why not."""
    try:
        _run_admin("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "skip", with the reason
        return f"{type(exc).__name__}: {exc}"
    return None


def _run_admin(statement: str) -> None:
    asyncio.run(_admin(statement))


async def _admin(statement: str) -> None:
    import asyncpg

    dsn = POSTGRES_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()
