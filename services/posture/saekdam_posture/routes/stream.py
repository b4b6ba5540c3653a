"""`WS /v1/posture/stream`: frames or landmarks in, a posture result per frame out.

Authentication as on the task socket (`saekdam_web.websockets`): a Bearer header on the
handshake, or a first text frame {"type": "auth", "token": …}. Nothing is sent before a valid
token of a user who exists and is not disabled; anything else closes with 1008.
"""

import contextlib
from collections.abc import AsyncIterator

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from saekdam_web.websockets import (
    TRY_AGAIN_LATER,
    Closing,
    accept_if_origin_allowed,
    authenticate,
    close_quietly,
)

from ..metrics import SESSIONS, WEBSOCKETS_DROPPED
from ..session import PostureSession
from ..settings import PostureSettings

router = APIRouter()


@contextlib.asynccontextmanager
async def one_users_session(state, user_id: str, cap: int) -> AsyncIterator[None]:
    """Counts `user_id`'s open sessions in this process, so that one user cannot take every
    place of `max_sessions`; past `cap` the socket closes 1013."""
    open_now = state.user_sessions.get(user_id, 0)
    if open_now >= cap:
        raise Closing(TRY_AGAIN_LATER, "too many sessions of this user; close one first")
    state.user_sessions[user_id] = open_now + 1
    try:
        yield
    finally:
        left = state.user_sessions[user_id] - 1
        if left:
            state.user_sessions[user_id] = left
        else:
            del state.user_sessions[user_id]


@router.websocket("/v1/posture/stream")
async def stream(ws: WebSocket) -> None:
    """One posture session; past `max_sessions` in this process, or past
    `max_sessions_per_user` of one user's, the socket closes 1013."""
    state = ws.app.state
    settings: PostureSettings = state.settings
    if not await accept_if_origin_allowed(ws, settings.allowed_origins):
        return
    state.open_sessions += 1
    SESSIONS.inc()
    try:
        if state.open_sessions > settings.max_sessions:
            raise Closing(TRY_AGAIN_LATER, "the service is full; try again later")
        user = await authenticate(ws, state.authenticator, settings.ws_auth_timeout_s)
        async with one_users_session(state, user.id, settings.max_sessions_per_user):
            await PostureSession(ws, user.id, state).run()
    except Closing as closing:
        # Counted once: dropped for not reading, or aborted for not taking the close frame.
        if await close_quietly(ws, closing.code, closing.reason) or closing.dropped:
            WEBSOCKETS_DROPPED.inc()
    except WebSocketDisconnect:
        pass
    finally:
        state.open_sessions -= 1
        SESSIONS.dec()
