"""A client that stops reading, on a real uvicorn socket (both event loops production may
run): its send times out (`send_text_within`), the close frame cannot go out either, and
`close_quietly` aborts the connection within its bound, instead of leaving it open with its
unsent frames until the kernel gives up on the peer. A client that reads is closed politely."""

import asyncio

import pytest
import websockets
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from saekdam_web.websockets import (
    CLOSE_TIMEOUT_S,
    NORMAL_CLOSURE,
    TRY_AGAIN_LATER,
    Closing,
    WebSocketTransportMiddleware,
    close_quietly,
    send_text_within,
)
from tests.fixtures.live_uvicorn import (
    open_websockets,
    stalled_client,
    stalled_since,
    uvicorn_in_thread,
    wait_until_gone,
)

SEND_TIMEOUT_S = 0.5
# Send timeout, close bound, and a wide margin for a loaded machine.
DROPPED_WITHIN_S = SEND_TIMEOUT_S + CLOSE_TIMEOUT_S + 3.0


def flooding_app(outcomes: list) -> FastAPI:
    app = FastAPI()
    app.add_middleware(WebSocketTransportMiddleware)

    @app.websocket("/flood")
    async def flood(ws: WebSocket) -> None:
        """Frames until the client stops taking them, then the drop."""
        await ws.accept()
        frame = "x" * 64 * 1024
        try:
            while True:
                await send_text_within(ws, frame, SEND_TIMEOUT_S)
        except Closing as closing:
            assert closing.dropped and closing.code == TRY_AGAIN_LATER
            outcomes.append(("dropped", await close_quietly(ws, closing.code, closing.reason)))
        except WebSocketDisconnect:
            outcomes.append(("gone", False))

    @app.websocket("/hello")
    async def hello(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("hello")
        outcomes.append(("closed", await close_quietly(ws, NORMAL_CLOSURE, "bye")))

    return app


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
async def test_a_client_that_stops_reading_is_aborted_within_the_send_timeout(loop):
    outcomes: list = []
    with uvicorn_in_thread(
        flooding_app(outcomes), loop=loop, ws="websockets-sansio", lifespan="off"
    ) as (server, address):
        stalled = await stalled_client(f"ws://{address}/flood")
        try:
            stalled_at = await stalled_since(server)
            await wait_until_gone(server, DROPPED_WITHIN_S)
            took = asyncio.get_running_loop().time() - stalled_at
            assert outcomes == [("dropped", True)], outcomes  # aborted, not closed politely
            print(f"\n{loop}: gone {took:.2f} s after the send buffer filled")
        finally:
            stalled.transport.abort()

        # The server goes on: a client that reads gets its frame and a clean close.
        async with websockets.connect(f"ws://{address}/hello") as ws:
            assert await asyncio.wait_for(ws.recv(), 5) == "hello"
            with pytest.raises(websockets.ConnectionClosedOK):
                await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == NORMAL_CLOSURE and ws.close_reason == "bye"
        assert outcomes[1:] == [("closed", False)]
        await wait_until_gone(server, 5)
        assert open_websockets(server) == []
