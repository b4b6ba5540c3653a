"""The API application factory. Connections are opened by the lifespan, never at import."""

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from saekdam_backbone.db import create_engine, create_sessions
from saekdam_backbone.dependencies import redis_client
from saekdam_backbone.events import EventPublisher
from saekdam_backbone.logs import configure_logging
from saekdam_backbone.queue import JobQueue
from saekdam_backbone.storage import build_storage
from saekdam_backbone.tasks.store import TaskStore
from saekdam_web.auth import Authenticator
from saekdam_web.errors import install_error_handlers
from saekdam_web.guards import install_request_guards
from saekdam_web.openapi import install_truthful_openapi
from saekdam_web.ratelimit import RateLimiter
from saekdam_web.websockets import WebSocketTransportMiddleware

from .domain.accounts import AccountService
from .domain.comments import CommentService
from .domain.likes import LikeService
from .domain.moderation import ModerationService
from .domain.post_images import PostImages
from .domain.posts import PostService
from .domain.push import PushService
from .domain.queue import QueueService
from .domain.remix import RemixService
from .domain.tasks import TaskService
from .domain.uploads import UploadService
from .domain.users import UserService
from .domain.webhooks import WebhookService
from .events.hub import EventHub
from .routes import (
    auth,
    board,
    catalog,
    comments,
    health,
    moderation,
    push,
    queue_status,
    storage,
    task_events,
    tasks,
    users,
    webhooks,
)
from .settings import ApiSettings, get_settings

log = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI):
    settings: ApiSettings = app.state.settings
    # Every dependency call a request makes is bounded (saekdam_backbone.dependencies): an
    # unavailable one answers 503 within dependency_timeout_s instead of hanging.
    timeout_s = settings.dependency_timeout_s
    engine = create_engine(settings.database_url, timeout_s=timeout_s)
    sessions = create_sessions(engine)
    redis = redis_client(settings.redis_url, timeout_s)
    object_storage = build_storage(settings)
    # The subscriber waits for messages on purpose: its reads have no timeout.
    subscriber = redis_client(settings.redis_url, timeout_s, blocking=True)
    hub = EventHub(subscriber)
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
    state.authenticator = Authenticator(settings.jwt_secret.get_secret_value(), sessions)
    state.rate_limiter = RateLimiter(settings.redis_url, settings.rate_limits(), timeout_s)
    state.users = UserService(sessions)
    state.uploads = uploads
    state.tasks = TaskService(
        store, uploads, queue, EventPublisher(redis), object_storage, settings
    )
    images = PostImages(store, uploads, object_storage, settings)
    posts = PostService(sessions, images, object_storage, settings)
    state.posts = posts
    state.comments = CommentService(sessions, posts)
    state.likes = LikeService(sessions, posts)
    state.moderation = ModerationService(sessions, posts)
    state.remix = RemixService(sessions, posts, store, settings)
    state.accounts = AccountService(sessions, state.tasks, object_storage)
    state.webhooks = WebhookService(sessions, settings)
    state.push = PushService(sessions, settings)
    state.queue_status = QueueService(sessions, store, redis, settings)
    await hub.start()
    log.info("api started", extra={"outcome": settings.storage_backend})
    try:
        yield
    finally:
        await hub.stop()
        await state.rate_limiter.aclose()
        await subscriber.aclose()
        await redis.aclose()
        await engine.dispose()


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    app = FastAPI(title="Saekdam API", version="1.0.0", lifespan=lifespan)
    app.state.settings = settings
    # Bodies capped and control characters refused before anything else runs; added first
    # so that CORS wraps its refusals too.
    install_request_guards(
        app,
        settings.max_request_bytes,
        {storage.UPLOAD_PATH: storage.upload_body_limit(settings.max_upload_bytes)},
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.allowed_origins,
        allow_methods=["*"],
        allow_headers=["Authorization", "Content-Type"],
    )
    # Outermost (added last): it needs uvicorn's own `send` to find a socket's transport.
    app.add_middleware(WebSocketTransportMiddleware)
    install_error_handlers(app)
    install_truthful_openapi(app)  # every error status documented in the error shape
    routers = (
        health,
        auth,
        users,
        tasks,
        task_events,
        catalog,
        queue_status,
        board,
        comments,
        moderation,
        webhooks,
        push,
    )
    for module in routers:
        app.include_router(module.router)
    if settings.storage_backend == "local":
        app.include_router(storage.router)
    return app
