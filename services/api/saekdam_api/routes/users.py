from fastapi import APIRouter

from ..deps import CurrentUser
from ..schemas import UserOut

router = APIRouter(prefix="/v1/users", tags=["users"])


@router.get("/me")
async def me(user: CurrentUser) -> UserOut:
    """The current user (never the password hash)."""
    return UserOut.model_validate(user, from_attributes=True)
