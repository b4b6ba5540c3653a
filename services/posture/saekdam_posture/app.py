"""The posture service's application factory: the pose model is loaded once, at start-up."""

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI

from saekdam_backbone.db import create_engine, create_sessions
from saekdam_backbone.logs import configure_logging
from saekdam_web.auth import Authenticator
from saekdam_web.errors import install_error_handlers
from saekdam_web.guards import install_request_guards
from saekdam_web.openapi import install_truthful_openapi
from saekdam_web.websockets import WebSocketTransportMiddleware

from .estimation import EstimatorPool
from .frames import FrameLimits
from .routes import health, history, stream
from .settings import PostureSettings, get_settings
from .store import PostureStore

log = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI):
    settings: PostureSettings = app.state.settings
    engine = create_engine(settings.database_url)
    limits = FrameLimits(
        max_bytes=settings.max_frame_bytes,
        max_pixels=settings.max_frame_pixels,
        max_side=settings.max_frame_side,
    )
    pool = EstimatorPool(settings.estimator_threads, frame_limits=limits)
    await pool.warmup()  # the first frame must not pay for loading MediaPipe
    sessions = create_sessions(engine)
    app.state.engine, app.state.pool = engine, pool
    app.state.store = PostureStore(sessions)
    # The API's `users` table, in the same database: a deleted or disabled user's token is
    # refused here as it is there.
    app.state.authenticator = Authenticator(settings.jwt_secret.get_secret_value(), sessions)
    log.info("posture service started")
    try:
        yield
    finally:
        await pool.aclose()
        await engine.dispose()


def create_app(settings: PostureSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    app = FastAPI(title="Saekdam posture", version="1.0.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.open_sessions = 0
    app.state.user_sessions = {}  # user id → open sessions in this process
    # Its HTTP routes take no body; frames come over the websocket (MAX_FRAME_BYTES).
    install_request_guards(app, settings.max_request_bytes)
    # Lets a socket whose client stopped reading be aborted (saekdam_web.websockets).
    app.add_middleware(WebSocketTransportMiddleware)
    install_error_handlers(app)
    install_truthful_openapi(app)  # every error status documented in the error shape
    for module in (health, history, stream):
        app.include_router(module.router)
    return app
