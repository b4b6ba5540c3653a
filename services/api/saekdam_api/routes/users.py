from fastapi import APIRouter, Response, status

from saekdam_web.ratelimit import rate_limited

from ..deps import AccountsDep, CurrentUser
from ..schemas import UserOut
from ..schemas.board import ProfileOut

router = APIRouter(prefix="/v1/users", tags=["users"])


@router.get("/me")
async def me(user: CurrentUser) -> UserOut:
    """The current user (never the password hash)."""
    return UserOut.model_validate(user, from_attributes=True)


@router.delete(
    "/me", status_code=status.HTTP_204_NO_CONTENT, dependencies=[rate_limited("account")]
)
async def delete_me(user: CurrentUser, accounts: AccountsDep) -> Response:
    """Delete the account and everything it owns: tasks, uploads, results, posts, comments,
    likes, posture history and every stored object."""
    await accounts.delete(user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{username}", responses={404: {"description": "No such user"}})
async def profile(username: str, accounts: AccountsDep) -> ProfileOut:
    """A public profile: username, joined, post count (never an email)."""
    return await accounts.profile(username)
