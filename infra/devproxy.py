"""The one base URL of `make run`: routes each path prefix to its service, HTTP and websockets,
as the proxy of docker compose (infra/proxy/Caddyfile) and the Kubernetes ingress do.

`python -m infra.devproxy` with PORT, API_UPSTREAM and POSTURE_UPSTREAM (http://host:port).
For development only: production runs Caddy or an ingress controller.
"""

import asyncio
import contextlib
import os

import httpx
import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

# Hop-by-hop headers belong to one connection and are never forwarded.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
}
WS_FORWARDED = ("authorization", "origin", "user-agent")


def upstream_for(path: str, routes: list[tuple[str, str]], default: str) -> str:
    for prefix, upstream in routes:
        if path == prefix or path.startswith(prefix + "/"):
            return upstream
    return default


def create_proxy(routes: list[tuple[str, str]], default: str) -> Starlette:
    client = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=5.0))

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        await client.aclose()

    def forwarded(request_headers, client_host: str | None) -> dict[str, str]:
        headers = {k: v for k, v in request_headers.items() if k.lower() not in HOP_BY_HOP}
        headers["x-forwarded-for"] = client_host or ""
        headers["x-forwarded-host"] = request_headers.get("host", "")
        headers["x-forwarded-proto"] = "http"
        return headers

    async def http(request: Request):
        upstream = upstream_for(request.url.path, routes, default)
        url = upstream + request.url.path + (f"?{request.url.query}" if request.url.query else "")
        outgoing = client.build_request(
            request.method,
            url,
            headers=forwarded(request.headers, request.client.host if request.client else None),
            content=request.stream(),
        )
        try:
            response = await client.send(outgoing, stream=True)
        except httpx.HTTPError:
            error = {"code": "upstream_unavailable", "message": "the service is not reachable"}
            return JSONResponse({"error": error}, status_code=502)
        headers = {k: v for k, v in response.headers.items() if k.lower() not in HOP_BY_HOP}
        return StreamingResponse(
            response.aiter_raw(),
            status_code=response.status_code,
            headers=headers,
            background=BackgroundTask(response.aclose),
        )

    async def websocket(ws: WebSocket):
        upstream = upstream_for(ws.url.path, routes, default).replace("http", "ws", 1)
        url = upstream + ws.url.path + (f"?{ws.url.query}" if ws.url.query else "")
        headers = {k: v for k, v in ws.headers.items() if k.lower() in WS_FORWARDED}
        origin = headers.pop("origin", None)
        try:
            remote = await websockets.connect(
                url, additional_headers=headers, origin=origin, max_size=None
            )
        except websockets.InvalidStatus as refused:
            await ws.close(1008 if refused.response.status_code == 403 else 1011)
            return
        except OSError:
            await ws.close(1011)
            return
        await ws.accept()
        async with remote:
            await _pump(ws, remote)

    return Starlette(
        routes=[
            WebSocketRoute("/{path:path}", websocket),
            Route(
                "/{path:path}",
                http,
                methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            ),
        ],
        lifespan=lifespan,
    )


async def _pump(ws: WebSocket, remote) -> None:
    async def client_to_remote():
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                code = message.get("code", 1000)
                # 1005/1006 describe a missing or broken close; they may not be sent on.
                await remote.close(1000 if code in (1005, 1006) else code)
                return
            await remote.send(
                message["bytes"] if message.get("bytes") is not None else message["text"]
            )

    async def remote_to_client():
        try:
            async for message in remote:
                if isinstance(message, bytes):
                    await ws.send_bytes(message)
                else:
                    await ws.send_text(message)
        except websockets.ConnectionClosed:
            pass
        code = remote.close_code or 1000
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await ws.close(code, remote.close_reason or "")

    tasks = [asyncio.create_task(client_to_remote()), asyncio.create_task(remote_to_client())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(
                asyncio.CancelledError,
                WebSocketDisconnect,
                RuntimeError,
                websockets.ConnectionClosed,
            ):
                await task


def main() -> None:
    api = os.environ["API_UPSTREAM"]
    routes = (
        [("/v1/posture", os.environ["POSTURE_UPSTREAM"])]
        if os.environ.get("POSTURE_UPSTREAM")
        else []
    )
    uvicorn.run(
        create_proxy(routes, api),
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        log_level="warning",
        ws_max_size=16 * 1024 * 1024,
    )


if __name__ == "__main__":
    main()
