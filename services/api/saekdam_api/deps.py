"""Typed dependencies for the routes: services from app state, and the current user."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from . import ratelimit
from .db.models import User
from .domain.tasks import TaskService
from .domain.users import UserService
from .errors import Unauthorized
from .security import user_id_from_token
from .settings import ApiSettings

_bearer = HTTPBearer(auto_error=False)


def _settings(request: Request) -> ApiSettings:
    return request.app.state.settings


def _users(request: Request) -> UserService:
    return request.app.state.users


def _tasks(request: Request) -> TaskService:
    return request.app.state.tasks


SettingsDep = Annotated[ApiSettings, Depends(_settings)]
UsersDep = Annotated[UserService, Depends(_users)]
TasksDep = Annotated[TaskService, Depends(_tasks)]


async def _current_user(
    request: Request,
    settings: SettingsDep,
    users: UsersDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("token_missing", "send an access token as 'Authorization: Bearer …'")
    user_id = user_id_from_token(credentials.credentials, settings.jwt_secret.get_secret_value())
    user = await users.get(user_id)
    if user is None:
        raise Unauthorized("token_invalid", "the access token's user no longer exists")
    request.state.user_id = user.id
    return user


CurrentUser = Annotated[User, Depends(_current_user)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def rate_limit(bucket: str, setting: str, by_user: bool = True):
    """A dependency that counts the request against `bucket` for this user (or address)."""

    async def check(request: Request) -> None:
        settings: ApiSettings = request.app.state.settings
        client = getattr(request.state, "user_id", None) if by_user else None
        await ratelimit.enforce(
            request.app.state.redis,
            bucket,
            client or client_address(request),
            getattr(settings, setting),
        )

    return Depends(check)
