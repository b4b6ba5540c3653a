"""Access tokens (JWT, HS256), shared by every service that authenticates users."""

import time
from dataclasses import dataclass

import jwt

_ALGORITHM = "HS256"


class InvalidToken(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_in: int


def issue_token(user_id: str, secret: str, ttl_s: int) -> AccessToken:
    now = int(time.time())
    claims = {"sub": user_id, "iat": now, "exp": now + ttl_s, "typ": "access"}
    return AccessToken(jwt.encode(claims, secret, algorithm=_ALGORITHM), ttl_s)


def user_id_from_token(token: str, secret: str) -> str:
    """The token's user id; InvalidToken if it is malformed, forged or expired."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[_ALGORITHM], options={"require": ["sub", "exp", "iat"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("token_expired", "the access token has expired; log in again") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("token_invalid", "the access token is not valid") from exc
    if claims.get("typ") != "access" or not isinstance(claims["sub"], str):
        raise InvalidToken("token_invalid", "the access token is not valid")
    return claims["sub"]
