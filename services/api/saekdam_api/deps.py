"""Typed dependencies for the routes: services from app state, and who may do what.

Who is calling (`CurrentUser`, `OptionalUser`) and rate limits come from the shared web edge;
the board's own rules (registered users write, admins moderate) are added here.
"""

from typing import Annotated

from fastapi import Depends, Request

from saekdam_backbone.users import User
from saekdam_web.auth import CurrentUser, OptionalUser
from saekdam_web.errors import Forbidden

from .domain.accounts import AccountService
from .domain.comments import CommentService
from .domain.likes import LikeService
from .domain.moderation import ModerationService
from .domain.posts import PostService
from .domain.push import PushService
from .domain.remix import RemixService
from .domain.tasks import TaskService
from .domain.uploads import UploadService
from .domain.users import UserService
from .domain.webhooks import WebhookService
from .settings import ApiSettings

__all__ = ["CurrentUser", "OptionalUser", "RegisteredUser", "AdminUser"]


async def _settings(request: Request) -> ApiSettings:
    return request.app.state.settings


async def _users(request: Request) -> UserService:
    return request.app.state.users


async def _tasks(request: Request) -> TaskService:
    return request.app.state.tasks


# Dependencies are `async def`: FastAPI runs a plain `def` one in a worker thread, a thread
# hop per request for what is an attribute read.


def _state(name: str):
    async def get(request: Request):
        return getattr(request.app.state, name)

    return Depends(get)


SettingsDep = Annotated[ApiSettings, Depends(_settings)]
UsersDep = Annotated[UserService, Depends(_users)]
TasksDep = Annotated[TaskService, Depends(_tasks)]
PostsDep = Annotated[PostService, _state("posts")]
CommentsDep = Annotated[CommentService, _state("comments")]
LikesDep = Annotated[LikeService, _state("likes")]
ModerationDep = Annotated[ModerationService, _state("moderation")]
RemixDep = Annotated[RemixService, _state("remix")]
AccountsDep = Annotated[AccountService, _state("accounts")]
UploadsDep = Annotated[UploadService, _state("uploads")]
PushDep = Annotated[PushService, _state("push")]
WebhooksDep = Annotated[WebhookService, _state("webhooks")]


async def _registered_user(user: CurrentUser) -> User:
    if user.is_guest:
        raise Forbidden("registration_required", "guests may read and run tasks; register to write")
    return user


async def _admin_user(user: CurrentUser) -> User:
    if not user.is_admin:
        raise Forbidden("admin_required", "only an admin may do this")
    return user


RegisteredUser = Annotated[User, Depends(_registered_user)]
AdminUser = Annotated[User, Depends(_admin_user)]
