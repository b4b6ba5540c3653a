"""`WS /v1/posture/stream`: frames or landmarks in, a posture result per frame out.

Authentication as on the task socket (`saekdam_web.websockets`): a Bearer header on the
handshake, or a first text frame {"type": "auth", "token": …}. Nothing is sent before a valid
token of a user who exists and is not disabled; anything else closes with 1008.
"""

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


@router.websocket("/v1/posture/stream")
async def stream(ws: WebSocket) -> None:
    """One posture session; past `max_sessions` in this process the socket closes 1013."""
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
