"""Count caps hold exactly under concurrency, on SQLite and PostgreSQL: many requests at
once (asyncio.gather over the in-process app on a real database) create exactly the cap
and the rest are refused with the cap's own error."""

import asyncio
import secrets

import httpx
import pytest
from pydantic import SecretStr

from saekdam_api.app import create_app
from saekdam_backbone.notifications import vapid
from tests.fixtures.push import browser_subscription

from .board_helpers import guest, registered

CONCURRENT = 20


def outcomes(responses: list[httpx.Response]) -> dict[tuple[int, str | None], int]:
    counts: dict[tuple[int, str | None], int] = {}
    for response in responses:
        error = response.json().get("error", {}) if response.status_code >= 400 else {}
        key = (response.status_code, error.get("code"))
        counts[key] = counts.get(key, 0) + 1
    return counts


@pytest.fixture
async def app_with(api_settings, request):
    """The API in process with the settings `request.param` changes."""
    settings = api_settings.model_copy(update=getattr(request, "param", {}))
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.app = app
            yield client


async def test_concurrent_upload_slots_on_one_task_stop_exactly_at_the_cap(api):
    headers = await registered(api)
    task_id = (await api.post("/v1/tasks", headers=headers)).json()["task_id"]
    cap = api.app.state.settings.max_uploads_per_task
    assert CONCURRENT > cap
    body = {"role": "image", "content_type": "image/png", "size": 1000}
    responses = await asyncio.gather(
        *(
            api.post(f"/v1/tasks/{task_id}/uploads", headers=headers, json=body)
            for _ in range(CONCURRENT)
        )
    )
    assert outcomes(responses) == {(201, None): cap, (409, "too_many_uploads"): CONCURRENT - cap}
    uploads = await api.app.state.uploads.for_task(task_id)
    assert len(uploads) == cap


async def test_concurrent_webhook_registrations_stop_exactly_at_the_cap(api):
    headers = await registered(api)
    cap = api.app.state.settings.max_webhooks_per_user
    assert CONCURRENT > cap
    responses = await asyncio.gather(
        *(
            api.post(
                "/v1/webhooks",
                headers=headers,
                json={"url": f"https://93.184.215.14/{i}", "events": ["task.completed"]},
            )
            for i in range(CONCURRENT)
        )
    )
    assert outcomes(responses) == {(201, None): cap, (409, "too_many_webhooks"): CONCURRENT - cap}
    listed = await api.get("/v1/webhooks", headers=headers, params={"limit": 100})
    assert len(listed.json()["items"]) == cap


async def public_dns(host: str, _port: int) -> list[str]:
    return ["142.250.74.46"]


@pytest.mark.parametrize(
    "app_with", [{"vapid_private_key": SecretStr(vapid.generate_private_key())}], indirect=True
)
async def test_concurrent_push_subscriptions_stop_exactly_at_the_cap(app_with):
    api = app_with
    api.app.state.push.resolver = public_dns
    headers = await guest(api)
    cap = api.app.state.settings.max_push_subscriptions_per_user
    assert CONCURRENT > cap
    bodies = [
        browser_subscription(
            f"https://fcm.googleapis.com/fcm/send/{secrets.token_urlsafe(24)}"
        ).as_json()
        for _ in range(CONCURRENT)
    ]
    responses = await asyncio.gather(
        *(api.post("/v1/push/subscriptions", headers=headers, json=body) for body in bodies)
    )
    assert outcomes(responses) == {
        (201, None): cap,
        (409, "too_many_push_subscriptions"): CONCURRENT - cap,
    }


@pytest.mark.parametrize(
    "app_with", [{"enable_diagnostic_jobs": True, "max_active_tasks_guest": 3}], indirect=True
)
async def test_concurrent_submits_stop_exactly_at_the_active_task_cap(app_with):
    api = app_with
    headers = await guest(api)
    cap = api.app.state.settings.max_active_tasks_guest
    ids = [(await api.post("/v1/tasks", headers=headers)).json()["task_id"] for _ in range(10)]
    responses = await asyncio.gather(
        *(
            api.post(f"/v1/tasks/{task_id}/submit", headers=headers, json={"kind": "noop"})
            for task_id in ids
        )
    )
    assert outcomes(responses) == {
        (202, None): cap,
        (429, "too_many_active_tasks"): len(ids) - cap,
    }
    statuses = [(await api.get(f"/v1/tasks/{i}", headers=headers)).json()["status"] for i in ids]
    assert sorted(statuses).count("CREATED") == len(ids) - cap
