"""`make run`'s supervisor on embedded defaults: its own Redis, SQLite, local storage."""

import asyncio
import json
import os
import signal
import subprocess
import sys

import psutil
import pytest
import websockets
from skimage import data as skdata

from infra.processes import CADDYFILE, REPO, WEB_CADDYFILE, free_port, port_open, wait_for
from tests.fixtures.client import Client, png_bytes

pytestmark = pytest.mark.slow


async def test_make_run_serves_a_job_and_ctrl_c_leaves_nothing_behind(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        # Nothing listens here, so the supervisor must start a Redis of its own.
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
        "STORAGE_LOCAL_ROOT": str(tmp_path / "storage"),
    }
    run = await asyncio.to_thread(
        subprocess.Popen,
        [sys.executable, "-m", "infra.devrun"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        process_group=0,  # its own group, standing in for the terminal's foreground group
    )
    try:
        await asyncio.to_thread(
            # Generous: a stale web client is built first (make test builds it beforehand).
            wait_for,
            lambda: port_open("127.0.0.1", port),
            240,
            "make run did not serve",
        )
        children = psutil.Process(run.pid).children(recursive=True)
        assert any("redis-server" in " ".join(c.cmdline()) for c in children)
        # The public port is Caddy's, on the Caddyfile compose runs.
        caddies = [c.cmdline() for c in children if c.name() == "caddy"]
        assert any(str(CADDYFILE) in cmdline for cmdline in caddies), caddies
        # The web client's files come from a Caddy of their own, on the file its image runs.
        assert any(str(WEB_CADDYFILE) in cmdline for cmdline in caddies), caddies

        client = await Client(f"http://127.0.0.1:{port}").as_guest()
        task_id = await client.create_task()
        await client.upload(task_id, png_bytes(skdata.astronaut()))
        await client.submit(task_id, "filter", {"filter": "pencil_color"})
        frames = await client.events(task_id)
        assert frames[-1]["status"] == "COMPLETED"

        # As in compose, metrics are not public.
        assert (await client.request("GET", "/metrics")).status_code == 404
        # The posture service answers under the same base URL, HTTP and websocket alike.
        sessions = await client.request("GET", "/v1/posture/sessions")
        assert sessions.status_code == 200 and sessions.json()["items"] == []
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/v1/posture/stream", additional_headers=client.headers
        ) as ws:
            assert json.loads(await ws.recv())["type"] == "ready"
        # The web client at /, and its index for any page path the browser routes itself.
        for path in ("/", "/tasks"):
            page = await client.request("GET", path)
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            assert '<div id="root">' in page.text
    finally:
        # What a terminal's Ctrl-C does: SIGINT to the whole foreground process group.
        os.killpg(run.pid, signal.SIGINT)
        assert await asyncio.to_thread(run.wait, 30) == 0
    _gone, alive = await asyncio.to_thread(psutil.wait_procs, children, timeout=5)
    assert alive == []
    assert not port_open("127.0.0.1", port)
