"""The API in process behind a real uvicorn socket, for tests that need real websockets (the
test plays the worker and publishes on real Redis itself)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import uvicorn
from fastapi import FastAPI


@contextlib.asynccontextmanager
async def serving(app: FastAPI, **options) -> AsyncIterator[str]:
    """`app` on a free port of 127.0.0.1 (uvicorn `options` as `python -m saekdam_api` sets
    them, where a test needs them), as host:port, until the block ends."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", **options
    )
    server = uvicorn.Server(config)
    running = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event for this
            await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await running


async def guest_task(server: str) -> tuple[str, dict]:
    """A new guest's new task: its id and the Authorization header."""
    async with httpx.AsyncClient(base_url=f"http://{server}") as http:
        token = (await http.post("/v1/auth/guest")).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        task_id = (await http.post("/v1/tasks", headers=headers)).json()["task_id"]
    return task_id, headers
