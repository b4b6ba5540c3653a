"""Liveness, readiness and Prometheus metrics."""

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from saekdam_contracts.jobs import JOB_SPECS
from saekdam_web.errors import RETRY_AFTER_S

from ..metrics import QUEUE_PENDING, QUEUE_WAITING, registry

router = APIRouter(tags=["operations"])
log = logging.getLogger(__name__)


@router.get("/healthz")
async def healthz() -> dict:
    """The process is up."""
    return {"status": "ok"}


async def _check_database(request: Request) -> None:
    async with request.app.state.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def _check_redis(request: Request) -> None:
    await request.app.state.redis.ping()


async def _check_storage(request: Request) -> None:
    await asyncio.to_thread(request.app.state.storage.check)


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready when the database, Redis and object storage all answer (checked at once, each
    within the dependency timeout)."""
    checks = {"database": _check_database, "redis": _check_redis, "storage": _check_storage}
    timeout_s = request.app.state.settings.dependency_timeout_s

    async def outcome(name: str, check) -> str:
        try:
            await asyncio.wait_for(check(request), timeout=timeout_s)
            return "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            log.warning("readiness check %s failed: %s", name, exc)
            return "unavailable"

    outcomes = await asyncio.gather(*(outcome(name, check) for name, check in checks.items()))
    results = dict(zip(checks, outcomes, strict=True))
    if all(v == "ok" for v in results.values()):
        return JSONResponse({"status": "ok", "checks": results})
    down = ", ".join(name for name, v in results.items() if v != "ok")
    error = {"code": "not_ready", "message": f"not ready: {down} unavailable"}
    return JSONResponse(
        {"error": error, "checks": results},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus metrics (job durations by kind and outcome come from each worker's own)."""
    depths = await request.app.state.queue.depth(list(JOB_SPECS))
    for kind, depth in depths.items():
        QUEUE_WAITING.labels(kind).set(depth["waiting"])
        QUEUE_PENDING.labels(kind).set(depth["pending"])
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
