"""Webhook endpoints: register (URL checked against the SSRF guard), list, delete, log."""

import base64
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from saekdam_backbone.notifications.models import WebhookDelivery

from .board_helpers import guest, registered

PUBLIC = "93.184.215.14"


def fake_dns(table: dict[str, list[str]]):
    async def resolve(host: str, _port: int) -> list[str]:
        if host not in table:
            raise OSError("name not known")
        return table[host]

    return resolve


async def create(api, headers, url: str, events=("task.completed",)):
    return await api.post("/v1/webhooks", headers=headers, json={"url": url, "events": events})


async def test_a_webhook_is_registered_with_a_secret_shown_only_once(api):
    headers = await registered(api)
    created = await create(api, headers, f"https://{PUBLIC}/hooks", ["task.started", "task.failed"])
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["url"] == f"https://{PUBLIC}/hooks"
    assert body["events"] == ["task.started", "task.failed"]
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) >= 24
    listed = (await api.get("/v1/webhooks", headers=headers)).json()["items"]
    assert [w["webhook_id"] for w in listed] == [body["webhook_id"]]
    assert "secret" not in listed[0] and body["secret"] not in str(listed)


async def test_guests_may_register_webhooks_as_they_may_run_tasks(api):
    created = await create(api, await guest(api), f"http://{PUBLIC}/hook")
    assert created.status_code == 201, created.text


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hook",
        "http://[::1]/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://100.64.0.7/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[fd00:ec2::254]/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "https://user:pw@example.com/hook",
        "https:///no-host",
    ],
)
async def test_urls_to_private_places_are_refused_in_production_mode(api, url):
    refused = await create(api, await registered(api), url)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "webhook_url_not_allowed"


async def test_a_name_resolving_to_any_private_address_is_refused(api):
    api.app.state.webhooks.resolver = fake_dns(
        {"hooks.example.test": [PUBLIC], "mixed.example.test": [PUBLIC, "10.0.0.5"]}
    )
    headers = await registered(api)
    assert (await create(api, headers, "https://hooks.example.test/x")).status_code == 201
    mixed = await create(api, headers, "https://mixed.example.test/x")
    assert mixed.status_code == 422 and "10.0.0.5" in mixed.json()["error"]["message"]
    unknown = await create(api, headers, "https://nowhere.example.test/x")
    assert unknown.json()["error"]["code"] == "webhook_url_not_allowed"


async def test_loopback_is_allowed_when_the_embedded_mode_says_so(api, monkeypatch):
    monkeypatch.setattr(api.app.state.settings, "webhooks_allow_loopback", True)
    headers = await registered(api)
    assert (await create(api, headers, "http://127.0.0.1:9000/hook")).status_code == 201
    # Private and metadata addresses stay refused.
    assert (await create(api, headers, "http://10.0.0.1/hook")).status_code == 422
    assert (await create(api, headers, "http://169.254.169.254/")).status_code == 422


async def test_bad_bodies_are_refused(api):
    headers = await registered(api)
    for body in (
        {"url": f"https://{PUBLIC}/", "events": []},
        {"url": f"https://{PUBLIC}/", "events": ["task.exploded"]},
        {"url": f"https://{PUBLIC}/" + "a" * 2048, "events": ["task.failed"]},
    ):
        response = await api.post("/v1/webhooks", headers=headers, json=body)
        assert response.status_code == 422, body


async def test_only_the_owner_deletes_a_webhook(api):
    owner, other = await registered(api), await registered(api)
    webhook_id = (await create(api, owner, f"https://{PUBLIC}/")).json()["webhook_id"]
    assert (await api.delete(f"/v1/webhooks/{webhook_id}", headers=other)).status_code == 404
    assert (
        await api.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=other)
    ).status_code == 404
    assert (await api.get("/v1/webhooks", headers=other)).json()["items"] == []
    assert (await api.delete(f"/v1/webhooks/{webhook_id}", headers=owner)).status_code == 204
    assert (await api.get("/v1/webhooks", headers=owner)).json()["items"] == []
    assert (await api.delete(f"/v1/webhooks/{webhook_id}", headers=owner)).status_code == 404


async def test_a_user_has_at_most_the_capped_number_of_webhooks(api):
    headers = await registered(api)
    cap = api.app.state.settings.max_webhooks_per_user
    for i in range(cap):
        assert (await create(api, headers, f"https://{PUBLIC}/{i}")).status_code == 201
    over = await create(api, headers, f"https://{PUBLIC}/one-too-many")
    assert over.status_code == 409 and over.json()["error"]["code"] == "too_many_webhooks"


async def test_the_delivery_log_pages_newest_first(api):
    headers = await registered(api)
    webhook_id = (await create(api, headers, f"https://{PUBLIC}/")).json()["webhook_id"]
    start = datetime.now(UTC)
    async with api.app.state.sessions() as session, session.begin():
        for i in range(5):
            session.add(
                WebhookDelivery(
                    id=f"msg_{secrets.token_hex(8)}",
                    endpoint_id=webhook_id,
                    task_id=f"task-{i}",
                    event_type="task.completed",
                    payload={},
                    status="delivered" if i % 2 else "pending",
                    attempts=i,
                    created_at=start + timedelta(seconds=i),
                )
            )
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (
            await api.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=headers, params=params)
        ).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [d["task_id"] for d in seen] == [f"task-{i}" for i in reversed(range(5))]
    assert set(seen[0]) >= {
        "delivery_id",
        "event_type",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
    }
    bad = await api.get(
        f"/v1/webhooks/{webhook_id}/deliveries", headers=headers, params={"cursor": "nope"}
    )
    assert bad.status_code == 400


async def test_the_webhook_routes_are_documented(api):
    paths = (await api.get("/openapi.json")).json()["paths"]
    for method, path in (
        ("post", "/v1/webhooks"),
        ("get", "/v1/webhooks"),
        ("delete", "/v1/webhooks/{webhook_id}"),
        ("get", "/v1/webhooks/{webhook_id}/deliveries"),
    ):
        operation = paths[path][method]
        assert operation.get("description") or operation.get("summary"), (method, path)
