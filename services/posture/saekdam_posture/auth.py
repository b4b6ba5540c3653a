"""Who is calling: the same access tokens the API issues (HTTP header or websocket frame)."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from saekdam_backbone.tokens import InvalidToken, user_id_from_token

from .errors import ApiError

_bearer = HTTPBearer(auto_error=False)


def _current_user_id(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiError(401, "token_missing", "send an access token as 'Authorization: Bearer …'")
    secret = request.app.state.settings.jwt_secret.get_secret_value()
    try:
        return user_id_from_token(credentials.credentials, secret)
    except InvalidToken as exc:
        raise ApiError(401, exc.code, exc.message) from exc


CurrentUserId = Annotated[str, Depends(_current_user_id)]
