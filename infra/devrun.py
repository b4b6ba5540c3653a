"""`make run`: the whole system on one machine with embedded defaults.

SQLite file, local signed-URL storage and, when REDIS_URL does not answer, a private
redis-server. DATABASE_URL / REDIS_URL / STORAGE_BACKEND=s3 switch to external services.
Ctrl-C stops every process this started.
"""

import json
import logging
import os
import secrets
import signal
import socket
import sys
import time

from infra.processes import (
    POSTURE_PYTHON,
    REPO,
    free_port,
    migrate,
    port_open,
    python_module,
    redis_reachable,
    start_proxy,
    start_redis,
    start_web,
    stop,
    trusted_proxy_env,
    wait_for,
)
from infra.webbuild import ensure_built
from saekdam_backbone.notifications import vapid

VAR = REPO / "var"
log = logging.getLogger("devrun")


GENERATED_SECRETS = {
    "JWT_SECRET": lambda: secrets.token_urlsafe(48),
    "STORAGE_SIGNING_SECRET": lambda: secrets.token_urlsafe(48),
    # Web Push signing key (VAPID, P-256); GET /v1/push/key serves its public half.
    "VAPID_PRIVATE_KEY": vapid.generate_private_key,
}


def load_or_create_secrets() -> dict[str, str]:
    """Secrets for the embedded mode, made once and kept in var/secrets.env (mode 0600).

    A secret added in a later version is made and appended; existing ones never change."""
    path = VAR / "secrets.env"
    if not path.exists():
        VAR.mkdir(exist_ok=True)
        path.touch(mode=0o600)
    text = path.read_text()
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    kept = {key: value for key, value in pairs}
    missing = {key: make() for key, make in GENERATED_SECRETS.items() if key not in kept}
    if missing:
        lines = "".join(f"{key}={value}\n" for key, value in missing.items())
        path.write_text(text + ("\n" if text and not text.endswith("\n") else "") + lines)
    return kept | missing


def build_env() -> dict[str, str]:
    port = os.environ.get("PORT", "8000")
    env = {key: value for key, value in load_or_create_secrets().items() if key not in os.environ}
    env.setdefault(
        "DATABASE_URL", os.environ.get("DATABASE_URL", f"sqlite+aiosqlite:///{VAR / 'saekdam.db'}")
    )
    env.setdefault("STORAGE_LOCAL_ROOT", os.environ.get("STORAGE_LOCAL_ROOT", str(VAR / "storage")))
    env.setdefault("PUBLIC_BASE_URL", os.environ.get("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}"))
    env["PORT"] = port
    env.setdefault("LOG_JSON", os.environ.get("LOG_JSON", "false"))
    # Embedded mode: webhooks may call a receiver on this machine (production refuses).
    env.setdefault("WEBHOOKS_ALLOW_LOOPBACK", os.environ.get("WEBHOOKS_ALLOW_LOOPBACK", "true"))
    # ... and push subscriptions may point at a push service on it over http.
    env.setdefault("PUSH_ALLOW_HTTP", os.environ.get("PUSH_ALLOW_HTTP", "true"))
    env.setdefault("WORKER_METRICS_PORT", os.environ.get("WORKER_METRICS_PORT", "9101"))
    # The web client's websockets come from the page's own origin, which must be allowed.
    env.setdefault(
        "ALLOWED_ORIGINS",
        os.environ.get("ALLOWED_ORIGINS", json.dumps(page_origins(port, os.environ.get("HOST")))),
    )
    return env


def page_origins(port: str, host: str | None) -> list[str]:
    """Where a browser may have loaded the web client from: this machine by name and address,
    and, when the public port listens beyond it (HOST=0.0.0.0), each of its IPv4 addresses
    (a phone on the same network)."""
    hosts = ["127.0.0.1", "localhost"]
    if host and host != "127.0.0.1":
        import psutil

        addresses = [
            a.address
            for nic in psutil.net_if_addrs().values()
            for a in nic
            if a.family == socket.AF_INET
        ]
        hosts += [host] if host not in ("0.0.0.0", "") else []
        hosts += [a for a in addresses if a not in hosts]
    return [f"http://{h}:{port}" for h in hosts]


def _wait_until_serving(services: dict, ports: list[int]) -> None:
    wait_for(
        lambda: (
            all(port_open("127.0.0.1", p) for p in ports)
            or any(p.poll() is not None for p in services.values())
        ),
        90,
        "the services did not start",
    )


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="devrun: %(message)s")
    env = build_env()
    started: list = []  # stopped in reverse: worker and API first, Redis last
    stopping = False

    def shut_down(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, shut_down)
    signal.signal(signal.SIGTERM, shut_down)
    try:
        redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        if not redis_reachable(redis_url):
            redis, redis_url = start_redis(VAR / "redis")
            started.append(redis)
            log.info("started a private redis-server at %s", redis_url)
        env["REDIS_URL"] = redis_url
        web_root = ensure_built()  # first, so a missing Node is said before anything starts
        migrate(env["DATABASE_URL"])
        migrate(env["DATABASE_URL"], "saekdam_posture.db.migrate", POSTURE_PYTHON)
        # Behind the one public port, each service on a private one (as compose does).
        # On loopback whatever HOST says (HOST is where the public port listens), believing
        # forwarding headers from the proxy's address only.
        api_port, posture_port = free_port(), free_port()
        private = {**env, "HOST": "127.0.0.1", **trusted_proxy_env()}
        api = python_module("saekdam_api", {**private, "PORT": str(api_port)})
        posture = python_module(
            "saekdam_posture", {**private, "PORT": str(posture_port)}, python=POSTURE_PYTHON
        )
        started += [api, posture]
        services = {"API": api, "posture service": posture}
        _wait_until_serving(services, [api_port, posture_port])
        # The web client's files, served as its image serves them (services/web/Caddyfile).
        web_port = free_port()
        web = start_web(web_port, web_root, VAR / "web")
        started.append(web)
        services["web client's server (Caddy, see var/web/caddy.log)"] = web
        # The public port opens last: once it answers, everything behind it does too. Caddy
        # with compose's Caddyfile; its own log goes to var/caddy/caddy.log.
        proxy = start_proxy(
            int(env["PORT"]),
            f"127.0.0.1:{api_port}",
            f"127.0.0.1:{posture_port}",
            VAR / "caddy",
            host=os.environ.get("HOST", "127.0.0.1"),
            web_upstream=f"127.0.0.1:{web_port}",
        )
        started.append(proxy)
        services["proxy (Caddy, see var/caddy/caddy.log)"] = proxy
        worker = python_module(
            "saekdam_worker", {**env, "METRICS_PORT": env["WORKER_METRICS_PORT"]}
        )
        started.append(worker)
        log.info(
            "Saekdam on http://127.0.0.1:%s (the web client at /, API docs at /docs); "
            "Ctrl-C stops everything",
            env["PORT"],
        )
        # As in compose, the public port does not serve /metrics.
        log.info("API metrics at http://127.0.0.1:%s/metrics", api_port)
        while not stopping:
            for name, process in services.items():
                if process.poll() is not None:
                    log.error("the %s exited with %s", name, process.returncode)
                    return 1
            if worker.poll() is not None:
                log.warning("the worker exited with %s; starting another", worker.returncode)
                worker = python_module(
                    "saekdam_worker", {**env, "METRICS_PORT": env["WORKER_METRICS_PORT"]}
                )
                started[-1] = worker
            time.sleep(0.5)
        return 0
    finally:
        for process in reversed(started):
            stop(process)
        log.info("stopped")


if __name__ == "__main__":
    sys.exit(main())
