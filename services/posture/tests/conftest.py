"""A real posture service for the websocket, photo and history tests.

- Databases: a fresh SQLite file or a fresh PostgreSQL database per test module, migrated
  with the posture service's own migrations (`saekdam_posture.db.migrate`), plus the `users`
  table the service authenticates against. The API owns and migrates that table; its
  migrations are not installed in this environment, so it is created here from
  `saekdam_backbone.users.User`. (`make run` and compose give both services the same
  DATABASE_URL, so in production the API's migrations have made it.) `posture_database_url`
  runs a module on both; a module that only needs one overrides the fixture.
- `posture_service`: `python -m saekdam_posture` with this environment's python, on a free
  port, in a working directory (and TMPDIR) of its own, so a test can check that no frame was
  ever written. A module adjusts the environment by overriding `posture_service_env`.
- `posture_token`: access tokens signed with the service's secret, each for a real user row
  (`PostureService.token`; `delete_user` and `disable_user` take a user away again).
"""

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from websockets.asyncio.client import connect

from infra.databases import fresh_postgres_database
from infra.processes import POSTURE_PYTHON, free_port, migrate, stop, wait_for
from saekdam_backbone.db import create_engine, utcnow
from saekdam_backbone.tokens import issue_token
from saekdam_backbone.users import User
from tests.fixtures.services import POSTGRES_ADMIN_URL

POSTURE_MIGRATIONS = "saekdam_posture.db.migrate"
STREAM_PATH = "/v1/posture/stream"
PYTHON = POSTURE_PYTHON if POSTURE_PYTHON.exists() else Path(sys.executable)

# What every test service gets; modules add to it through `posture_service_env`.
BASE_ENV = {
    "LOG_JSON": "true",
    "LOG_LEVEL": "INFO",
    "CALIBRATION_S": "3",
    "WS_AUTH_TIMEOUT_S": "1",
    "MAX_MESSAGES_PER_S": "20",
    "ESTIMATOR_THREADS": "1",
    "SAVE_EVERY_S": "60",
}


# -- databases -------------------------------------------------------------------------------


def on_database(url: str, work: Callable[[AsyncConnection], Awaitable[object]]) -> None:
    """`await work(connection)` in one committed transaction, in a thread of its own (callers
    may be inside a running event loop)."""

    async def run() -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                await work(connection)
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


def migrate_posture(url: str) -> str:
    """The posture tables, and the API's `users` table that the service reads."""
    migrate(url, POSTURE_MIGRATIONS, python=PYTHON)
    on_database(url, lambda c: c.run_sync(User.__table__.create, checkfirst=True))
    return url


@contextmanager
def fresh_posture_postgres() -> Iterator[str]:
    """A new PostgreSQL database with the posture tables, dropped on exit."""
    with fresh_postgres_database(
        POSTGRES_ADMIN_URL, migrate_posture, prefix="saekdam_posture_test"
    ) as url:
        yield url


@pytest.fixture(scope="module")
def posture_sqlite_url(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("posture-sqlite")
    return migrate_posture(f"sqlite+aiosqlite:///{folder / 'posture.db'}")


@pytest.fixture(scope="module")
def posture_postgres_url() -> Iterator[str]:
    with fresh_posture_postgres() as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def posture_database_url(request) -> str:
    return request.getfixturevalue(f"posture_{request.param}_url")


# -- the service -----------------------------------------------------------------------------


@dataclass
class PostureService:
    process: subprocess.Popen
    port: int
    secret: str
    database_url: str
    workdir: Path  # the process's working directory; TMPDIR is workdir / "tmp"
    log_path: Path
    env: dict[str, str]

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{STREAM_PATH}"

    def token(self, user_id: str | None = None, ttl_s: int = 600) -> str:
        """An access token of `user_id` (a new user if None), whose row is made if missing."""
        user_id = user_id or str(uuid.uuid4())

        async def add_user(connection: AsyncConnection) -> None:
            if await connection.scalar(select(User.id).where(User.id == user_id)) is None:
                await connection.execute(
                    insert(User).values(id=user_id, username="posture-test", is_guest=True)
                )

        on_database(self.database_url, add_user)
        return issue_token(user_id, self.secret, ttl_s).token

    def delete_user(self, user_id: str) -> None:
        on_database(self.database_url, lambda c: c.execute(delete(User).where(User.id == user_id)))

    def disable_user(self, user_id: str) -> None:
        disable = update(User).where(User.id == user_id).values(disabled_at=utcnow())
        on_database(self.database_url, lambda c: c.execute(disable))

    def log_lines(self) -> list[dict]:
        lines = []
        for line in self.log_path.read_text().splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                lines.append({"msg": line})
        return lines


def start_posture_service(
    workdir: Path, log_path: Path, database_url: str, secret: str, env: dict[str, str]
) -> PostureService:
    """`python -m saekdam_posture` as `make run` starts it, but in `workdir` (not the repo)."""
    port = free_port()
    (workdir / "tmp").mkdir(parents=True, exist_ok=True)
    full_env = {
        **os.environ,
        "TMPDIR": str(workdir / "tmp"),
        **BASE_ENV,
        **env,
        "JWT_SECRET": secret,
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [str(PYTHON), "-m", "saekdam_posture"],
            env=full_env,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    service = PostureService(process, port, secret, database_url, workdir, log_path, full_env)

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"the posture service exited:\n{log_path.read_text()[-3000:]}")
        try:
            return httpx.get(f"{service.http_url}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(ready, 60, "the posture service did not become ready", interval_s=0.1)
    except BaseException:
        stop_posture_service(service)
        raise
    return service


def stop_posture_service(service: PostureService, timeout_s: float = 15) -> None:
    stop(service.process, timeout_s)


@pytest.fixture(scope="session")
def posture_jwt_secret() -> str:
    return secrets.token_urlsafe(32)


@pytest.fixture(scope="module")
def posture_service_env() -> dict[str, str]:
    """Extra environment for the module's service (override in a test module)."""
    return {}


@pytest.fixture(scope="module")
def posture_service(
    tmp_path_factory, posture_database_url, posture_jwt_secret, posture_service_env
) -> Iterator[PostureService]:
    workdir = tmp_path_factory.mktemp("posture-service")
    log_path = tmp_path_factory.mktemp("posture-logs") / "posture.log"
    service = start_posture_service(
        workdir, log_path, posture_database_url, posture_jwt_secret, posture_service_env
    )
    try:
        yield service
    finally:
        stop_posture_service(service)
        # A service that crashed mid-module would otherwise only show up as odd failures.
        assert service.process.returncode in (0, -signal.SIGTERM), log_path.read_text()[-3000:]


@pytest.fixture
def posture_token(posture_service) -> Callable[..., str]:
    """posture_token(user_id=None, ttl_s=600): a signed access token (a new user if None)."""
    return posture_service.token


# -- websocket helpers -----------------------------------------------------------------------


class Stream:
    """A websocket client of the posture stream with JSON helpers."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.ready: dict = {}
        self.seen: list[dict] = []

    async def send(self, message: dict | str | bytes) -> None:
        await self.ws.send(json.dumps(message) if isinstance(message, dict) else message)

    async def recv(self, wait_s: float = 5.0) -> dict:
        message = json.loads(await asyncio.wait_for(self.ws.recv(), wait_s))
        self.seen.append(message)
        return message

    async def until(self, predicate: Callable[[dict], bool], wait_s: float = 10.0) -> dict:
        """Read messages until one matches; the ones before it stay in `seen`."""
        async with asyncio.timeout(wait_s):
            while True:
                message = await self.recv(wait_s)
                if predicate(message):
                    return message

    async def drain(self, quiet_s: float = 0.5) -> list[dict]:
        """Everything that arrives until nothing has for `quiet_s`."""
        messages = []
        while True:
            try:
                messages.append(await self.recv(quiet_s))
            except TimeoutError:
                return messages


@pytest.fixture(scope="module")
def open_stream(posture_service):
    """`async with open_stream(token) as stream:` a connection that got its `ready` message
    (`stream.ready`). `auth="header"` (default) or `"frame"` (first text frame)."""

    @asynccontextmanager
    async def opener(token: str, *, auth: str = "header"):
        headers = {"Authorization": f"Bearer {token}"} if auth == "header" else None
        async with connect(
            posture_service.ws_url, additional_headers=headers, max_size=None, open_timeout=5
        ) as ws:
            stream = Stream(ws)
            if auth == "frame":
                await stream.send({"type": "auth", "token": token})
            stream.ready = await stream.recv()
            assert stream.ready["type"] == "ready", stream.ready
            yield stream

    return opener


# -- photos ----------------------------------------------------------------------------------


def _px(pose, name: str) -> np.ndarray:
    lm = pose.landmark(name)
    return np.array([lm.x * pose.image.width, lm.y * pose.image.height])


def forward_head(rgb: np.ndarray, pose, scale: float = 1.3, drop: float = 0.6) -> np.ndarray:
    """The head moved down and scaled up relative to the shoulders, as when it juts forward.

    The same transform as test_posture_estimation.py's: the head is an ellipse around the ears
    (1.0 x 1.15 ear spans, centred 0.2 span above the ear midpoint), scaled by `scale` about
    its centre, moved down by `drop` ear spans and blended back with a feathered mask; the
    shoulders stay where they were. `pose` is the photo's `PoseResult`.
    """
    h, w = rgb.shape[:2]
    left_ear, right_ear = _px(pose, "left_ear"), _px(pose, "right_ear")
    span = float(np.linalg.norm(left_ear - right_ear))
    cx, cy = (left_ear + right_ear) / 2
    cy -= 0.2 * span
    shift = drop * span
    matrix = np.float32([[scale, 0, cx - scale * cx], [0, scale, cy - scale * cy + shift]])
    warped = cv2.warpAffine(
        rgb, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    mask = np.zeros((h, w), np.float32)
    centre = (round(cx), round(cy + shift))
    axes = (round(scale * 1.0 * span), round(scale * 1.15 * span))
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 0.08 * span)[..., None]
    return (rgb * (1 - mask) + warped * mask).round().astype(np.uint8)


@pytest.fixture(scope="session")
def forward_head_transform() -> Callable[..., np.ndarray]:
    """`forward_head(rgb, pose, scale=1.3, drop=0.6)` (test modules cannot import conftest)."""
    return forward_head
