from redis.asyncio import Redis


async def test_healthz_and_readyz_report_ok(api):
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    ready = await api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok", "storage": "ok"}


async def test_readyz_is_503_when_redis_is_gone(api):
    state = api.app.state
    working, state.redis = state.redis, Redis.from_url("redis://127.0.0.1:1/0")
    try:
        ready = await api.get("/readyz")
    finally:
        await state.redis.aclose()
        state.redis = working
    assert ready.status_code == 503 and ready.json()["checks"]["redis"] == "unavailable"
    assert ready.json()["error"]["code"] == "not_ready"


async def test_metrics_expose_queue_depth_and_websockets(api):
    text = (await api.get("/metrics")).text
    assert 'saekdam_queue_waiting{kind="filter"}' in text
    assert "saekdam_websocket_connections" in text


async def test_unknown_paths_answer_with_the_error_shape(api):
    response = await api.get("/v1/nothing-here")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


async def test_the_openapi_document_has_every_contract_path(api):
    paths = (await api.get("/openapi.json")).json()["paths"]
    for path in [
        "/v1/auth/register",
        "/v1/auth/login",
        "/v1/auth/guest",
        "/v1/users/me",
        "/v1/tasks",
        "/v1/tasks/{task_id}/uploads",
        "/v1/tasks/{task_id}/submit",
        "/v1/tasks/{task_id}",
        "/v1/tasks/{task_id}/cancel",
        "/v1/filters",
    ]:
        assert path in paths, path
