from fastapi import APIRouter, status

from saekdam_backbone.tokens import issue_token
from saekdam_web.ratelimit import rate_limited

from ..deps import SettingsDep, UsersDep
from ..schemas import LoginIn, RegisterIn, TokenOut, UserOut

router = APIRouter(prefix="/v1/auth", tags=["auth"])
limited = rate_limited("auth")


def _token(user_id: str, settings) -> TokenOut:
    token = issue_token(user_id, settings.jwt_secret.get_secret_value(), settings.jwt_ttl_s)
    return TokenOut(access_token=token.token, expires_in=token.expires_in)


@router.post("/register", status_code=status.HTTP_201_CREATED, dependencies=[limited])
async def register(body: RegisterIn, users: UsersDep) -> UserOut:
    """Create an account with email and password."""
    user = await users.register(body.email, body.username, body.password)
    return UserOut.model_validate(user, from_attributes=True)


@router.post("/login", dependencies=[limited])
async def login(body: LoginIn, users: UsersDep, settings: SettingsDep) -> TokenOut:
    """Exchange email and password for an access token."""
    user = await users.authenticate(body.email, body.password)
    return _token(user.id, settings)


@router.post("/guest", dependencies=[limited])
async def guest(users: UsersDep, settings: SettingsDep) -> TokenOut:
    """A token for a new guest user: may run tasks, may not post."""
    user = await users.create_guest()
    return _token(user.id, settings)
