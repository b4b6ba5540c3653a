"""Password hashing (argon2), and access tokens as the API's errors see them."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from saekdam_backbone import tokens

from .errors import Unauthorized

_hasher = PasswordHasher()
# Verifying against this when the email is unknown keeps login time the same either way.
_DUMMY_HASH = _hasher.hash("not a real password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def user_id_from_token(token: str, secret: str) -> str:
    """The token's user id; Unauthorized if it is malformed, forged or expired."""
    try:
        return tokens.user_id_from_token(token, secret)
    except tokens.InvalidToken as exc:
        raise Unauthorized(exc.code, exc.message) from exc
