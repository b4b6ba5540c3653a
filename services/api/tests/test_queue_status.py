import httpx

from saekdam_api.app import create_app
from saekdam_api.domain.queue import eta
from saekdam_backbone.queue_stats import QueueStats


def test_eta_counts_the_jobs_ahead_over_the_workers():
    assert eta(1, [], workers=1, run_s=10) == 10  # a free worker: just the run
    assert eta(1, [0], workers=1, run_s=10) == 20  # one just started ahead of it
    assert eta(1, [4], workers=1, run_s=10) == 16  # ... and it falls while that one runs
    assert eta(3, [0, 0], workers=2, run_s=10) == 30  # 4 ahead on 2 workers
    assert eta(1, [], workers=0, run_s=10) == 10  # no worker yet: as if one
    assert eta(1, [30], workers=1, run_s=10) == 10  # overdue ahead: not negative


async def _app(api_settings, **changes):
    settings = api_settings.model_copy(update={"enable_diagnostic_jobs": True, **changes})
    app = create_app(settings)
    return app


async def test_the_queue_reports_what_the_database_holds(api_settings):
    app = await _app(api_settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as api,
    ):
        before = {k["kind"]: k for k in (await api.get("/v1/queue")).json()["kinds"]}
        token = (await api.post("/v1/auth/guest")).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        ids = [(await api.post("/v1/tasks", headers=headers)).json()["task_id"] for _ in range(3)]
        for task_id in ids:
            submitted = await api.post(
                f"/v1/tasks/{task_id}/submit", headers=headers, json={"kind": "noop"}
            )
            assert submitted.status_code == 202, submitted.text
        await app.state.store.claim(ids[0], "test-worker", 30)  # one starts
        await QueueStats(app.state.redis).record("noop", "run", 4.0)
        after = {k["kind"]: k for k in (await api.get("/v1/queue")).json()["kinds"]}
        noop = after["noop"]
        assert noop["waiting"] - before["noop"]["waiting"] == 2
        assert noop["running"] - before["noop"]["running"] == 1
        assert noop["median_run_s"] is not None
        assert set(noop) == {
            "kind",
            "waiting",
            "running",
            "workers",
            "median_wait_s",
            "median_run_s",
        }


async def test_one_person_may_not_hold_more_than_the_active_cap(api_settings):
    app = await _app(api_settings, max_active_tasks_guest=2)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as api,
    ):
        token = (await api.post("/v1/auth/guest")).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        codes = []
        for _ in range(3):
            task_id = (await api.post("/v1/tasks", headers=headers)).json()["task_id"]
            response = await api.post(
                f"/v1/tasks/{task_id}/submit", headers=headers, json={"kind": "noop"}
            )
            codes.append((response.status_code, response.json().get("error", {}).get("code")))
        assert codes == [(202, None), (202, None), (429, "too_many_active_tasks")]
        # The refused task stays CREATED: nothing was lost, it can be submitted later.
        assert (await api.get(f"/v1/tasks/{task_id}", headers=headers)).json()["status"] == (
            "CREATED"
        )
