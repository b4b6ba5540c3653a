import secrets
import time

import httpx
import jwt

from saekdam_api.app import create_app
from saekdam_backbone.tokens import issue_token


async def test_register_returns_the_user_without_any_password_field(api):
    response = await api.post(
        "/v1/auth/register",
        json={"email": "Ada@Example.com", "username": "ada", "password": "long enough"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "ada@example.com" and body["is_guest"] is False
    assert not any("password" in key or "hash" in key for key in body)


async def test_register_twice_with_one_email_conflicts(api):
    email = f"{secrets.token_hex(4)}@example.com"
    body = {"email": email, "username": "twice", "password": "long enough"}
    assert (await api.post("/v1/auth/register", json=body)).status_code == 201
    again = await api.post("/v1/auth/register", json=body)
    assert again.status_code == 409 and again.json()["error"]["code"] == "email_taken"


async def test_register_rejects_a_short_password_and_a_bad_email(api):
    for body in (
        {"email": "x@example.com", "username": "ok_name", "password": "short"},
        {"email": "not-an-email", "username": "ok_name", "password": "long enough"},
        {"email": "y@example.com", "username": "<script>", "password": "long enough"},
    ):
        response = await api.post("/v1/auth/register", json=body)
        assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_request"


async def test_login_gives_a_bearer_token_that_identifies_the_user(api):
    email = f"{secrets.token_hex(4)}@example.com"
    await api.post(
        "/v1/auth/register",
        json={"email": email, "username": f"me_{secrets.token_hex(4)}", "password": "long enough"},
    )
    login = await api.post("/v1/auth/login", json={"email": email, "password": "long enough"})
    token = login.json()
    assert token["token_type"] == "bearer" and token["expires_in"] == 3600
    me = await api.get("/v1/users/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.status_code == 200 and me.json()["email"] == email
    assert "password_hash" not in me.json()


async def test_login_with_a_wrong_password_or_unknown_email_is_401(api):
    email = f"{secrets.token_hex(4)}@example.com"
    await api.post(
        "/v1/auth/register",
        json={"email": email, "username": f"me_{secrets.token_hex(4)}", "password": "long enough"},
    )
    for body in (
        {"email": email, "password": "wrong one"},
        {"email": "nobody@example.com", "password": "long enough"},
    ):
        response = await api.post("/v1/auth/login", json=body)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_credentials"


async def test_a_guest_token_works_and_is_marked_guest(api):
    token = (await api.post("/v1/auth/guest")).json()["access_token"]
    me = await api.get("/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["is_guest"] is True and me.json()["email"] is None


async def test_an_expired_token_is_refused(api, api_settings):
    user = (await api.post("/v1/auth/guest")).json()["access_token"]
    user_id = jwt.decode(user, options={"verify_signature": False})["sub"]
    secret = api_settings.jwt_secret.get_secret_value()
    expired = jwt.encode(
        {
            "sub": user_id,
            "iat": int(time.time()) - 7200,
            "exp": int(time.time()) - 3600,
            "typ": "access",
        },
        secret,
        algorithm="HS256",
    )
    response = await api.get("/v1/users/me", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "token_expired"


async def test_a_token_signed_with_another_secret_is_refused(api):
    forged = issue_token("someone", "another secret entirely, long enough for HS256", 3600).token
    response = await api.get("/v1/users/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "token_invalid"


async def test_login_attempts_are_rate_limited(api_settings):
    app = create_app(api_settings.model_copy(update={"rate_auth_per_min": 3}))
    address = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    transport = httpx.ASGITransport(app=app, client=(address, 4000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        codes = [
            (
                await client.post(
                    "/v1/auth/login", json={"email": "a@example.com", "password": "x"}
                )
            ).status_code
            for _ in range(5)
        ]
    assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]
