"""The API app in process (httpx over ASGI) with its lifespan, on real Redis and databases."""

import secrets

import httpx
import pytest

from saekdam_api.app import create_app
from saekdam_api.settings import ApiSettings


@pytest.fixture
def api_settings(database_url, redis_url, tmp_path) -> ApiSettings:
    return ApiSettings(
        database_url=database_url,
        redis_url=redis_url,
        jwt_secret=secrets.token_urlsafe(32),
        storage_signing_secret=secrets.token_urlsafe(32),
        storage_local_root=str(tmp_path / "storage"),
        public_base_url="http://testserver",
        log_json=False,
        # Every in-process test comes from one address; test_auth checks the limiter itself.
        rate_auth_per_min=100_000,
        rate_tasks_per_min=100_000,
        rate_uploads_per_min=100_000,
        max_active_tasks_guest=10_000,
        max_active_tasks_registered=10_000,
        **{
            f"rate_{family}_per_min": 100_000
            for family in (
                "posts",
                "comments",
                "likes",
                "reports",
                "moderation",
                "account",
                "webhooks",
                "push",
            )
        },
    )


@pytest.fixture
async def api(api_settings):
    app = create_app(api_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.app = app
            yield client


async def register(api, email: str | None = None, password: str = "correct horse") -> dict:
    email = email or f"{secrets.token_hex(6)}@example.com"
    response = await api.post(
        "/v1/auth/register",
        json={"email": email, "username": f"fan_{secrets.token_hex(6)}", "password": password},
    )
    assert response.status_code == 201, response.text
    login = await api.post("/v1/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}
