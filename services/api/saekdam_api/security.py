"""Password hashing (argon2) and access tokens (JWT, HS256)."""

import time
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import Unauthorized

_hasher = PasswordHasher()
_ALGORITHM = "HS256"
# Verifying against this when the email is unknown keeps login time the same either way.
_DUMMY_HASH = _hasher.hash("not a real password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_in: int


def issue_token(user_id: str, secret: str, ttl_s: int) -> AccessToken:
    now = int(time.time())
    claims = {"sub": user_id, "iat": now, "exp": now + ttl_s, "typ": "access"}
    return AccessToken(jwt.encode(claims, secret, algorithm=_ALGORITHM), ttl_s)


def user_id_from_token(token: str, secret: str) -> str:
    """The token's user id; Unauthorized if it is malformed, forged or expired."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[_ALGORITHM], options={"require": ["sub", "exp", "iat"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("token_expired", "the access token has expired; log in again") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("token_invalid", "the access token is not valid") from exc
    if claims.get("typ") != "access" or not isinstance(claims["sub"], str):
        raise Unauthorized("token_invalid", "the access token is not valid")
    return claims["sub"]
