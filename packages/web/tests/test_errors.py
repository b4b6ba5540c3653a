"""The one error shape: `{"error": {"code", "message"}}` for domain errors, validation
errors, unknown routes and the unexpected, on a tiny app built here."""

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from saekdam_web.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
    UnsupportedMedia,
    install_error_handlers,
    validation_message,
)


class Thing(BaseModel):
    name: str = Field(min_length=1)
    size: int


def tiny_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/raise/{kind}")
    async def raise_(kind: str):
        errors = {
            "bad": BadRequest("bad_thing", "that is bad"),
            "unauthorized": Unauthorized("token_missing", "who are you"),
            "forbidden": Forbidden("admin_required", "not you"),
            "missing": NotFound("thing_not_found", "no such thing"),
            "conflict": Conflict("already_there", "it exists"),
            "big": PayloadTooLarge("too_big", "too big"),
            "media": UnsupportedMedia("wrong_type", "not an image"),
            "unprocessable": Unprocessable("cannot", "cannot do that"),
            "slow_down": TooManyRequests("rate_limited", "wait", headers={"Retry-After": "7"}),
            "teapot": ApiError("teapot", "short and stout", status_code=418),
            "plain": ApiError("plain", "default status"),
        }
        raise errors[kind]

    @app.post("/things")
    async def make(thing: Thing, count: int = 1):
        return {"name": thing.name, "count": count}

    @app.get("/http/{status}")
    async def http(status: int, detail: str | None = None):
        if detail is None:
            raise HTTPException(status, detail={"not": "a string"})
        raise HTTPException(status, detail=detail, headers={"X-Why": "because"})

    @app.get("/boom")
    async def boom():
        raise RuntimeError("secret internals: password=hunter2")

    return app


@pytest.fixture
async def client():
    transport = httpx.ASGITransport(app=tiny_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def error_of(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("bad", 400, "bad_thing"),
        ("unauthorized", 401, "token_missing"),
        ("forbidden", 403, "admin_required"),
        ("missing", 404, "thing_not_found"),
        ("conflict", 409, "already_there"),
        ("big", 413, "too_big"),
        ("media", 415, "wrong_type"),
        ("unprocessable", 422, "cannot"),
        ("slow_down", 429, "rate_limited"),
        ("teapot", 418, "teapot"),
        ("plain", 400, "plain"),
    ],
)
async def test_api_errors_map_to_their_status_and_code(client, kind, status, code):
    response = await client.get(f"/raise/{kind}")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert error_of(response)["code"] == code


async def test_api_error_headers_are_sent(client):
    response = await client.get("/raise/slow_down")
    assert response.headers["Retry-After"] == "7"
    assert error_of(response) == {"code": "rate_limited", "message": "wait"}


async def test_an_invalid_body_is_422_invalid_request_naming_the_fields(client):
    response = await client.post("/things", json={"name": "", "size": "big"})
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid_request"
    assert "body.name" in error["message"] and "body.size" in error["message"]


async def test_an_invalid_query_and_a_non_json_body_are_422_invalid_request(client):
    response = await client.post("/things?count=many", json={"name": "a", "size": 1})
    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid_request"
    assert "query.count" in error_of(response)["message"]

    garbage = await client.post(
        "/things", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert garbage.status_code == 422
    assert error_of(garbage)["code"] == "invalid_request"


async def test_a_valid_request_is_untouched(client):
    response = await client.post("/things?count=2", json={"name": "a", "size": 1})
    assert response.status_code == 200
    assert response.json() == {"name": "a", "count": 2}


async def test_an_unknown_route_is_404_not_found(client):
    response = await client.get("/no/such/route")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


async def test_a_wrong_method_is_405_method_not_allowed(client):
    response = await client.delete("/things")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert "POST" in response.headers["allow"]


async def test_http_exceptions_keep_status_headers_and_string_details(client):
    response = await client.get("/http/403", params={"detail": "go away"})
    assert response.status_code == 403
    assert error_of(response) == {"code": "forbidden", "message": "go away"}
    assert response.headers["X-Why"] == "because"

    odd = await client.get("/http/418")
    assert odd.status_code == 418
    assert error_of(odd) == {"code": "http_error", "message": "request failed"}


async def test_an_unexpected_error_is_500_internal_error_without_internals(client, caplog):
    response = await client.get("/boom")
    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "internal_error"
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert any(r.exc_info and "hunter2" in str(r.exc_info[1]) for r in caplog.records)


def test_validation_message_joins_locations_and_messages():
    errors = [
        {"loc": ("body", "a", 0), "msg": "bad"},
        {"loc": ("query", "b"), "msg": "worse"},
    ]
    assert validation_message(errors) == "body.a.0: bad; query.b: worse"
    assert validation_message([]) == ""
