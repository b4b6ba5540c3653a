"""The API application factory. Connections are opened by the lifespan, never at import."""

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from redis.asyncio import Redis
from starlette.exceptions import HTTPException as StarletteHTTPException

from saekdam_backbone.db import create_engine, create_sessions
from saekdam_backbone.events import EventPublisher
from saekdam_backbone.logs import configure_logging
from saekdam_backbone.queue import JobQueue
from saekdam_backbone.storage import build_storage
from saekdam_backbone.tasks.store import TaskStore

from .domain.tasks import TaskService
from .domain.uploads import UploadService
from .domain.users import UserService
from .errors import ApiError
from .events.hub import EventHub
from .routes import auth, catalog, health, storage, task_events, tasks, users
from .settings import ApiSettings, get_settings

log = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI):
    settings: ApiSettings = app.state.settings
    engine = create_engine(settings.database_url)
    sessions = create_sessions(engine)
    redis = Redis.from_url(settings.redis_url)
    object_storage = build_storage(settings)
    hub = EventHub(redis)
    store = TaskStore(sessions)
    queue = JobQueue(redis)
    uploads = UploadService(sessions, object_storage, settings)
    state = app.state
    state.engine, state.sessions, state.redis, state.storage = (
        engine,
        sessions,
        redis,
        object_storage,
    )
    state.hub, state.store, state.queue = hub, store, queue
    state.users = UserService(sessions)
    state.uploads = uploads
    state.tasks = TaskService(
        store, uploads, queue, EventPublisher(redis), object_storage, settings
    )
    await hub.start()
    log.info("api started", extra={"outcome": settings.storage_backend})
    try:
        yield
    finally:
        await hub.stop()
        await redis.aclose()
        await engine.dispose()


def _error(status_code: int, code: str, message: str, headers=None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status_code, headers=headers
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError):
        return _error(exc.status_code, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        return _error(422, "invalid_request", problems or "the request is not valid")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException):
        codes = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}
        code = codes.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return _error(exc.status_code, code, message, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception):
        log.exception("unhandled error")
        return _error(500, "internal_error", "something went wrong on our side")


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    app = FastAPI(title="Saekdam API", version="1.0.0", lifespan=lifespan)
    app.state.settings = settings
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.allowed_origins,
        allow_methods=["*"],
        allow_headers=["Authorization", "Content-Type"],
    )
    _install_error_handlers(app)
    for module in (health, auth, users, tasks, task_events, catalog):
        app.include_router(module.router)
    if settings.storage_backend == "local":
        app.include_router(storage.router)
    return app
