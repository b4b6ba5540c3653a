"""Who is calling: an access token that names a user who still exists and is not disabled.

Both services share one `Authenticator` (in `app.state.authenticator`), so a token outlives
neither its user's deletion nor a disable, on HTTP and websockets alike.
"""

import base64
import json
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import async_sessionmaker

from saekdam_backbone import tokens
from saekdam_backbone.db import single_statements
from saekdam_backbone.users import User, read_user

from .errors import ApiError, Unauthorized

# Signatures already checked, kept until the token expires: HS256 verification is a good part
# of a request's own CPU. Only the signature is remembered; the user is read every time.
VERIFIED_TOKENS_KEPT = 10_000


class Authenticator:
    def __init__(self, secret: str, sessions: async_sessionmaker):
        self._secret = secret
        self._engine = single_statements(sessions)
        self._verified: dict[str, tuple[str, float]] = {}

    async def user(self, token: str) -> User:
        """The token's user; Unauthorized if the token is bad or the user may not act.

        The user row is read on every call (one primary-key read), never cached: a deletion
        or an operator's disable, from any process, refuses the very next request."""
        user = await read_user(self._engine, self._user_id(token))
        if user is None:
            raise Unauthorized("token_invalid", "the access token's user no longer exists")
        if user.disabled_at is not None:
            raise Unauthorized("account_disabled", "this account has been disabled")
        return user

    def _user_id(self, token: str) -> str:
        known = self._verified.get(token)
        if known is not None and time.time() < known[1]:
            return known[0]
        try:
            user_id = tokens.user_id_from_token(token, self._secret)
        except tokens.InvalidToken as exc:
            self._verified.pop(token, None)
            raise Unauthorized(exc.code, exc.message) from exc
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            self._verified.pop(next(iter(self._verified)))  # the oldest entry
        self._verified[token] = (user_id, _expiry(token))
        return user_id


def _expiry(token: str) -> float:
    """The `exp` claim of a token whose signature was just verified."""
    payload = token.split(".")[1]
    return float(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"])


_bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True)
class Identity:
    """The outcome of reading the request's token, once per request (FastAPI caches it)."""

    user: User | None
    error: ApiError | None


async def _identify(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Identity:
    if credentials is None or credentials.scheme.lower() != "bearer":
        missing = Unauthorized("token_missing", "send an access token as 'Authorization: Bearer …'")
        return Identity(None, missing)
    authenticator: Authenticator = request.app.state.authenticator
    try:
        return Identity(await authenticator.user(credentials.credentials), None)
    except Unauthorized as exc:
        return Identity(None, exc)


async def _current_user(identity: Annotated[Identity, Depends(_identify)]) -> User:
    if identity.user is None:
        assert identity.error is not None
        raise identity.error
    return identity.user


async def _optional_user(identity: Annotated[Identity, Depends(_identify)]) -> User | None:
    return identity.user


CurrentUser = Annotated[User, Depends(_current_user)]
# The caller when a valid token came with the request, else None (no error): public reads.
OptionalUser = Annotated[User | None, Depends(_optional_user)]
