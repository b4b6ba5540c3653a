"""Websocket edge: a token in the handshake header or in the first text frame; anything else
(nothing in time, a binary frame, garbage, an oversized or deeply nested frame, a bad,
expired or forged token, a deleted or disabled user) closes 1008 before anything is sent;
a foreign Origin is refused before the socket is accepted."""

import json
import secrets
import uuid
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI, WebSocket
from sqlalchemy import delete, update
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from saekdam_backbone.db import Base, create_engine, create_sessions, utcnow
from saekdam_backbone.tokens import issue_token
from saekdam_backbone.users import User
from saekdam_contracts.sockets import MAX_AUTH_FRAME_BYTES
from saekdam_web.auth import Authenticator
from saekdam_web.websockets import (
    NORMAL_CLOSURE,
    POLICY_VIOLATION,
    Closing,
    accept_if_origin_allowed,
    authenticate,
    close_quietly,
)

SECRET = secrets.token_urlsafe(32)
ALLOWED_ORIGINS = ["https://app.example.com"]
AUTH_TIMEOUT_S = 0.3


def tiny_app(database_url: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        engine = create_engine(database_url)
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all, tables=[User.__table__])
        app.state.sessions = create_sessions(engine)
        app.state.authenticator = Authenticator(SECRET, app.state.sessions)
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.websocket("/ws")
    async def socket(ws: WebSocket):
        if not await accept_if_origin_allowed(ws, ALLOWED_ORIGINS):
            return
        try:
            user = await authenticate(ws, app.state.authenticator, AUTH_TIMEOUT_S)
            await ws.send_json({"user": user.id})
            await ws.receive_text()
            await close_quietly(ws, NORMAL_CLOSURE, "bye")
        except Closing as closing:
            await close_quietly(ws, closing.code, closing.reason)

    return app


class Site:
    """The tiny app under TestClient, with its database reachable on the app's own loop."""

    def __init__(self, client: TestClient, app: FastAPI):
        self.client, self.app = client, app

    def _run(self, statement_or_row) -> None:
        async def go():
            async with self.app.state.sessions() as session, session.begin():
                if isinstance(statement_or_row, User):
                    session.add(statement_or_row)
                else:
                    await session.execute(statement_or_row)

        self.client.portal.call(go)

    def new_user(self) -> tuple[str, str]:
        user_id = str(uuid.uuid4())
        self._run(User(id=user_id, username=f"u{secrets.token_hex(4)}"))
        return user_id, issue_token(user_id, SECRET, 600).token

    def delete_user(self, user_id: str) -> None:
        self._run(delete(User).where(User.id == user_id))

    def disable_user(self, user_id: str) -> None:
        self._run(update(User).where(User.id == user_id).values(disabled_at=utcnow()))


@pytest.fixture
def site(tmp_path):
    app = tiny_app(f"sqlite+aiosqlite:///{tmp_path / 'users.db'}")
    with TestClient(app) as client:
        yield Site(client, app)


def auth_frame(token: str) -> str:
    return json.dumps({"type": "auth", "token": token})


def assert_closed(ws, reason: str | None = None) -> None:
    """The first thing the server sends is a 1008 close."""
    with pytest.raises(WebSocketDisconnect) as closed:
        ws.receive_text()
    assert closed.value.code == POLICY_VIOLATION
    if reason is not None:
        assert closed.value.reason == reason


def test_a_token_in_the_header_authenticates(site):
    user_id, token = site.new_user()
    with site.client.websocket_connect("/ws", headers={"Authorization": f"Bearer {token}"}) as ws:
        assert ws.receive_json() == {"user": user_id}
        ws.send_text("done")


def test_a_token_in_the_first_frame_authenticates(site):
    user_id, token = site.new_user()
    with site.client.websocket_connect("/ws") as ws:
        ws.send_text(auth_frame(token))
        assert ws.receive_json() == {"user": user_id}
        ws.send_text("done")


@pytest.mark.parametrize("header", ["Basic abc", "Bearer ", "Bearer"])
def test_a_header_without_a_bearer_token_falls_back_to_the_first_frame(site, header):
    user_id, token = site.new_user()
    with site.client.websocket_connect("/ws", headers={"Authorization": header}) as ws:
        ws.send_text(auth_frame(token))
        assert ws.receive_json() == {"user": user_id}
        ws.send_text("done")


def test_no_frame_in_time_closes_1008(site):
    with site.client.websocket_connect("/ws") as ws:
        assert_closed(ws, "authentication required")


def test_a_binary_first_frame_closes_1008(site):
    _, token = site.new_user()
    with site.client.websocket_connect("/ws") as ws:
        ws.send_bytes(auth_frame(token).encode())
        assert_closed(ws, "authentication required")


def nested(depth: int) -> str:
    return '{"type": "auth", "token": ' + "[" * depth + "]" * depth + "}"


GARBAGE = {
    "not json": "hello",
    "a json string": json.dumps("token"),
    "a json list": json.dumps(["auth", "token"]),
    "wrong type": json.dumps({"type": "ping", "token": "x"}),
    "no token": json.dumps({"type": "auth"}),
    "empty token": json.dumps({"type": "auth", "token": ""}),
    "token not a string": json.dumps({"type": "auth", "token": 12345}),
    "extra field": json.dumps({"type": "auth", "token": "x", "admin": True}),
    "token too long": auth_frame("x" * 4097),
    "oversized": auth_frame("x" * (MAX_AUTH_FRAME_BYTES + 1)),
    "10 kB deeply nested": nested(5000),
    "deeply nested under the size cap": nested(MAX_AUTH_FRAME_BYTES // 2 - 20),
}


@pytest.mark.parametrize("frame", GARBAGE.values(), ids=GARBAGE.keys())
def test_a_garbage_first_frame_closes_1008(site, frame):
    with site.client.websocket_connect("/ws") as ws:
        ws.send_text(frame)
        assert_closed(ws, "authentication required")


def test_an_oversized_frame_with_a_valid_token_inside_closes_1008(site):
    _, token = site.new_user()
    padded = json.dumps({"type": "auth", "token": token}) + " " * MAX_AUTH_FRAME_BYTES
    with site.client.websocket_connect("/ws") as ws:
        ws.send_text(padded)
        assert_closed(ws, "authentication required")


def bad_tokens(site) -> dict[str, tuple[str, str]]:
    user_id, _ = site.new_user()
    return {
        "garbage": ("not-a-jwt", "token_invalid"),
        "forged": (issue_token(user_id, "another secret " * 3, 600).token, "token_invalid"),
        "expired": (issue_token(user_id, SECRET, -60).token, "token_expired"),
        "unknown user": (issue_token(str(uuid.uuid4()), SECRET, 600).token, "token_invalid"),
    }


@pytest.mark.parametrize("how", ["header", "frame"])
@pytest.mark.parametrize("kind", ["garbage", "forged", "expired", "unknown user"])
def test_a_bad_token_closes_1008(site, how, kind):
    token, reason = bad_tokens(site)[kind]
    headers = {"Authorization": f"Bearer {token}"} if how == "header" else {}
    with site.client.websocket_connect("/ws", headers=headers) as ws:
        if how == "frame":
            ws.send_text(auth_frame(token))
        assert_closed(ws, reason)


@pytest.mark.parametrize("how", ["header", "frame"])
def test_the_token_of_a_deleted_user_closes_1008(site, how):
    user_id, token = site.new_user()
    site.delete_user(user_id)
    headers = {"Authorization": f"Bearer {token}"} if how == "header" else {}
    with site.client.websocket_connect("/ws", headers=headers) as ws:
        if how == "frame":
            ws.send_text(auth_frame(token))
        assert_closed(ws, "token_invalid")


@pytest.mark.parametrize("how", ["header", "frame"])
def test_the_token_of_a_disabled_user_closes_1008(site, how):
    user_id, token = site.new_user()
    with site.client.websocket_connect("/ws", headers={"Authorization": f"Bearer {token}"}) as ws:
        assert ws.receive_json() == {"user": user_id}  # works until the operator steps in
        ws.send_text("done")
    site.disable_user(user_id)
    headers = {"Authorization": f"Bearer {token}"} if how == "header" else {}
    with site.client.websocket_connect("/ws", headers=headers) as ws:
        if how == "frame":
            ws.send_text(auth_frame(token))
        assert_closed(ws, "account_disabled")


def test_an_allowed_origin_and_no_origin_are_accepted(site):
    user_id, token = site.new_user()
    for headers in ({"Origin": ALLOWED_ORIGINS[0]}, {}):
        with site.client.websocket_connect("/ws", headers=headers) as ws:
            ws.send_text(auth_frame(token))
            assert ws.receive_json() == {"user": user_id}
            ws.send_text("done")


@pytest.mark.parametrize(
    "origin", ["https://evil.example.com", "https://app.example.com.evil.net", "null", ""]
)
def test_a_foreign_origin_is_refused_before_accepting(site, origin):
    _, token = site.new_user()
    headers = {"Origin": origin, "Authorization": f"Bearer {token}"}
    with pytest.raises(WebSocketDisconnect) as refused:
        with site.client.websocket_connect("/ws", headers=headers):
            pass
    assert refused.value.code == POLICY_VIOLATION
    assert refused.value.reason == "origin not allowed"
