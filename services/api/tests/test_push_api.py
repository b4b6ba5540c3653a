"""Web Push routes in process: the VAPID key, subscriptions (validation, idempotence, the
per-user cap, owners), and a server without a key, on SQLite and PostgreSQL."""

import ipaddress
import secrets

import httpx
import pytest
from pydantic import SecretStr

from saekdam_api.app import create_app
from saekdam_backbone.notifications import vapid
from saekdam_backbone.notifications.models import PushSubscription
from tests.fixtures.push import browser_subscription

from .conftest import register

PUBLIC_ADDRESS = "142.250.74.46"


async def public_dns(host: str, port: int) -> list[str]:
    """DNS as the tests see it: every name is public, except localhost."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        return ["127.0.0.1"] if host == "localhost" else [PUBLIC_ADDRESS]


def subscription(endpoint: str | None = None, **keys: str) -> dict:
    """What the browser's `PushSubscription.toJSON()` gives, with `keys` replaced."""
    endpoint = endpoint or f"https://fcm.googleapis.com/fcm/send/{secrets.token_urlsafe(24)}"
    body = browser_subscription(endpoint).as_json()
    return body | {"keys": body["keys"] | keys}


@pytest.fixture
def vapid_key() -> str:
    return vapid.generate_private_key()


@pytest.fixture
async def push_api(api_settings, vapid_key, request):
    """The API with a VAPID key; `@pytest.mark.parametrize("settings", [{…}])` overrides."""
    overrides = getattr(request, "param", {})
    settings = api_settings.model_copy(
        update={"vapid_private_key": SecretStr(vapid_key), **overrides}
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        app.state.push.resolver = public_dns
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.app = app
            yield client


async def guest(api) -> dict:
    response = await api.post("/v1/auth/guest")
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def stored(api, subscription_id: str) -> PushSubscription | None:
    async with api.app.state.sessions() as session:
        return await session.get(PushSubscription, subscription_id)


def error_code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


async def test_push_key_is_the_public_half_of_the_vapid_key(push_api, vapid_key):
    response = await push_api.get("/v1/push/key")
    assert response.status_code == 200, response.text
    public = response.json()["public_key"]
    assert public == vapid.public_key(vapid_key)
    point = vapid.b64url_decode(public)
    assert len(point) == 65 and point[0] == 0x04 and "=" not in public


async def test_push_is_unavailable_without_a_vapid_key(api):
    key = await api.get("/v1/push/key")
    assert key.status_code == 503 and error_code(key) == "push_unavailable"
    assert "VAPID_PRIVATE_KEY" in key.json()["error"]["message"]
    created = await api.post(
        "/v1/push/subscriptions", json=subscription(), headers=await guest(api)
    )
    assert created.status_code == 503 and error_code(created) == "push_unavailable"


async def test_subscribe_stores_the_browser_subscription(push_api):
    headers = await guest(push_api)
    body = subscription()
    response = await push_api.post("/v1/push/subscriptions", json=body, headers=headers)
    assert response.status_code == 201, response.text
    row = await stored(push_api, response.json()["subscription_id"])
    assert (row.endpoint, row.p256dh, row.auth) == (
        body["endpoint"],
        body["keys"]["p256dh"],
        body["keys"]["auth"],
    )


async def test_subscribing_the_same_endpoint_again_updates_it(push_api):
    headers = await guest(push_api)
    body = subscription()
    first = await push_api.post("/v1/push/subscriptions", json=body, headers=headers)
    renewed = subscription(body["endpoint"])
    again = await push_api.post("/v1/push/subscriptions", json=renewed, headers=headers)
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    row = await stored(push_api, first.json()["subscription_id"])
    assert (row.p256dh, row.auth) == (renewed["keys"]["p256dh"], renewed["keys"]["auth"])


async def test_an_endpoint_subscribed_by_another_account_moves_to_it(push_api):
    body = subscription()
    first = await push_api.post("/v1/push/subscriptions", json=body, headers=await guest(push_api))
    second_user = await guest(push_api)
    moved = await push_api.post("/v1/push/subscriptions", json=body, headers=second_user)
    assert moved.json() == first.json()
    row = await stored(push_api, moved.json()["subscription_id"])
    me = await push_api.get("/v1/users/me", headers=second_user)
    assert row.owner_id == me.json()["id"]


@pytest.mark.parametrize("push_api", [{"max_push_subscriptions_per_user": 2}], indirect=True)
async def test_a_user_has_at_most_the_cap_of_subscriptions(push_api):
    headers = await guest(push_api)
    bodies = [subscription() for _ in range(2)]
    for body in bodies:
        response = await push_api.post("/v1/push/subscriptions", json=body, headers=headers)
        assert response.status_code == 201, response.text
    third = await push_api.post("/v1/push/subscriptions", json=subscription(), headers=headers)
    assert third.status_code == 409 and error_code(third) == "too_many_push_subscriptions"
    # Renewing one that is there is no new subscription.
    renewed = await push_api.post("/v1/push/subscriptions", json=bodies[0], headers=headers)
    assert renewed.status_code == 201
    other = await push_api.post(
        "/v1/push/subscriptions", json=subscription(), headers=await guest(push_api)
    )
    assert other.status_code == 201


def _point_off_the_curve() -> str:
    return vapid.b64url_encode(b"\x04" + b"\x01" * 64)


@pytest.mark.parametrize(
    ("keys", "code"),
    [
        ({"p256dh": vapid.b64url_encode(b"\x04" + b"\x01" * 31)}, "push_p256dh_invalid"),
        ({"p256dh": _point_off_the_curve()}, "push_p256dh_invalid"),
        ({"p256dh": vapid.b64url_encode(b"\x05" + b"\x01" * 64)}, "push_p256dh_invalid"),
        ({"p256dh": "not base64 at all!"}, "push_p256dh_invalid"),
        ({"auth": vapid.b64url_encode(secrets.token_bytes(15))}, "push_auth_invalid"),
        ({"auth": vapid.b64url_encode(secrets.token_bytes(32))}, "push_auth_invalid"),
        ({"auth": ""}, "invalid_request"),
    ],
)
async def test_keys_a_browser_never_makes_are_refused(push_api, keys, code):
    response = await push_api.post(
        "/v1/push/subscriptions", json=subscription(**keys), headers=await guest(push_api)
    )
    assert response.status_code == 422 and error_code(response) == code, response.text


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://fcm.googleapis.com/fcm/send/abc",
        "ftp://fcm.googleapis.com/fcm/send/abc",
        "https://127.0.0.1:8443/push/abc",
        "https://localhost/push/abc",
        "https://10.0.0.7/push/abc",
        "https://169.254.169.254/latest/meta-data",
        "https://user:secret@fcm.googleapis.com/fcm/send/abc",
        "not a url",
    ],
)
async def test_in_production_only_https_endpoints_on_public_addresses(push_api, endpoint):
    response = await push_api.post(
        "/v1/push/subscriptions", json=subscription(endpoint), headers=await guest(push_api)
    )
    assert response.status_code == 422 and error_code(response) == "push_endpoint_invalid"


@pytest.mark.parametrize("push_api", [{"push_allow_http": True}], indirect=True)
async def test_push_allow_http_lets_loopback_endpoints_in(push_api):
    headers = await guest(push_api)
    for endpoint in ("http://127.0.0.1:8123/push/a", "http://localhost:8123/push/b"):
        response = await push_api.post(
            "/v1/push/subscriptions", json=subscription(endpoint), headers=headers
        )
        assert response.status_code == 201, response.text
    elsewhere = await push_api.post(
        "/v1/push/subscriptions", json=subscription("http://push.example.com/a"), headers=headers
    )
    assert elsewhere.status_code == 422 and error_code(elsewhere) == "push_endpoint_invalid"


async def test_a_subscription_body_with_unknown_fields_is_refused(push_api):
    body = subscription() | {"endpoints": "typo"}
    response = await push_api.post(
        "/v1/push/subscriptions", json=body, headers=await guest(push_api)
    )
    assert response.status_code == 422 and error_code(response) == "invalid_request"


async def test_subscribing_needs_a_token(push_api):
    response = await push_api.post("/v1/push/subscriptions", json=subscription())
    assert response.status_code == 401 and error_code(response) == "token_missing"


async def test_only_the_owner_deletes_a_subscription(push_api):
    owner, intruder = await guest(push_api), await guest(push_api)
    created = await push_api.post("/v1/push/subscriptions", json=subscription(), headers=owner)
    path = f"/v1/push/subscriptions/{created.json()['subscription_id']}"
    refused = await push_api.delete(path, headers=intruder)
    assert refused.status_code == 404 and error_code(refused) == "push_subscription_not_found"
    assert (await push_api.delete(path, headers=owner)).status_code == 204
    assert (await push_api.delete(path, headers=owner)).status_code == 404


@pytest.mark.parametrize("push_api", [{"rate_push_per_min": 2}], indirect=True)
async def test_subscription_writes_are_rate_limited(push_api):
    headers = await guest(push_api)
    codes = [
        (await push_api.post("/v1/push/subscriptions", json=subscription(), headers=headers))
        for _ in range(3)
    ]
    assert [r.status_code for r in codes] == [201, 201, 429]
    assert error_code(codes[-1]) == "rate_limited" and "Retry-After" in codes[-1].headers


async def test_deleting_the_account_deletes_its_subscriptions(push_api):
    headers = await register(push_api)
    created = await push_api.post("/v1/push/subscriptions", json=subscription(), headers=headers)
    assert (await push_api.delete("/v1/users/me", headers=headers)).status_code == 204
    assert await stored(push_api, created.json()["subscription_id"]) is None
