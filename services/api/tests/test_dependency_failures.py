"""Redis frozen or stopped: every route that needs it answers 503 service_unavailable with
Retry-After within the dependency timeout (never a 500 or a hang), a write already committed
still answers its outcome, and service comes back by itself. On a private Redis."""

import os
import signal
import time

import httpx
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from infra.processes import start_redis, stop
from saekdam_api.app import create_app

# The dependency timeout (1.5 s by default) plus a wide margin for a loaded machine.
WITHIN_S = 4.0
CREATED = 201


@pytest.fixture
def private_redis(tmp_path):
    process, url = start_redis(tmp_path / "redis")
    holder = {"process": process, "url": url, "dir": tmp_path / "redis"}
    yield holder
    process = holder["process"]
    if process.poll() is None:
        os.kill(process.pid, signal.SIGCONT)
        stop(process)


@pytest.fixture
async def client(api_settings, private_redis):
    settings = api_settings.model_copy(update={"redis_url": private_redis["url"]})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        # The app's own error handlers answer; nothing may escape as an exception.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
            api.app = app
            yield api


async def guest(api) -> dict:
    response = await api.post("/v1/auth/guest")
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def assert_unavailable_quickly(api, method: str, path: str, **kwargs) -> None:
    started = time.monotonic()
    response = await api.request(method, path, **kwargs)
    elapsed = time.monotonic() - started
    assert response.status_code == 503, (path, response.status_code, response.text)
    assert response.json()["error"]["code"] in ("service_unavailable", "not_ready"), path
    assert int(response.headers["Retry-After"]) > 0
    assert elapsed < WITHIN_S, (path, elapsed)


def routes(headers: dict, task_id: str) -> list[tuple[str, str, dict]]:
    return [
        ("POST", "/v1/auth/guest", {}),
        ("POST", "/v1/auth/login", {"json": {"email": "a@example.com", "password": "x" * 8}}),
        ("POST", "/v1/tasks", {"headers": headers}),
        ("POST", f"/v1/tasks/{task_id}/cancel", {"headers": headers}),
        ("GET", "/metrics", {}),
        ("GET", "/readyz", {}),
    ]


async def test_a_frozen_redis_is_a_quick_503_and_service_comes_back(client, private_redis):
    headers = await guest(client)
    task_id = (await client.post("/v1/tasks", headers=headers)).json()["task_id"]
    redis = private_redis["process"]
    os.kill(redis.pid, signal.SIGSTOP)
    try:
        for method, path, kwargs in routes(headers, task_id):
            await assert_unavailable_quickly(client, method, path, **kwargs)
        # What needs no Redis goes on.
        assert (await client.get(f"/v1/tasks/{task_id}", headers=headers)).status_code == 200
    finally:
        os.kill(redis.pid, signal.SIGCONT)
    # Recovery is automatic: the same calls work again.
    assert (await client.post("/v1/tasks", headers=headers)).status_code == CREATED
    assert (await client.get("/readyz")).status_code == 200


async def test_a_stopped_redis_is_a_quick_503_and_a_restarted_one_serves_again(
    client, private_redis
):
    headers = await guest(client)
    task_id = (await client.post("/v1/tasks", headers=headers)).json()["task_id"]
    stop(private_redis["process"])
    for method, path, kwargs in routes(headers, task_id):
        await assert_unavailable_quickly(client, method, path, **kwargs)
    port = int(private_redis["url"].rsplit(":", 1)[1].split("/")[0])
    private_redis["process"], _ = start_redis(private_redis["dir"], port)
    assert (await client.post("/v1/tasks", headers=headers)).status_code == CREATED


async def test_a_cancel_committed_while_redis_fails_answers_its_outcome(client, monkeypatch):
    headers = await guest(client)
    task_id = (await client.post("/v1/tasks", headers=headers)).json()["task_id"]
    me = (await client.get("/v1/users/me", headers=headers)).json()["id"]
    tasks = client.app.state.tasks

    async def lost(*_args, **_kwargs):
        raise RedisConnectionError("connection refused")

    # The row is committed; the event and the broadcast after it are lost.
    monkeypatch.setattr(tasks._publisher, "publish", lost)
    monkeypatch.setattr(tasks._publisher, "request_cancel", lost)
    assert (await tasks.cancel(task_id, me)).value == "CANCELLED"
    task = (await client.get(f"/v1/tasks/{task_id}", headers=headers)).json()
    assert task["status"] == "CANCELLED"
