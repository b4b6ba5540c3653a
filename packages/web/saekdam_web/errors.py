"""Domain errors, and the one handler that maps them to `{"error": {"code", "message"}}`."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from saekdam_backbone.dependencies import DEPENDENCY_ERRORS, is_dependency_failure

log = logging.getLogger(__name__)


class ApiError(Exception):
    """`code` is snake_case and stable; `message` a sentence for people."""

    status_code = 400

    def __init__(
        self,
        code: str,
        message: str,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = headers
        if status_code is not None:
            self.status_code = status_code


class BadRequest(ApiError):
    status_code = 400


class Unauthorized(ApiError):
    status_code = 401


class Forbidden(ApiError):
    status_code = 403


class NotFound(ApiError):
    status_code = 404


class Conflict(ApiError):
    status_code = 409


class PayloadTooLarge(ApiError):
    status_code = 413


class UnsupportedMedia(ApiError):
    status_code = 415


class Unprocessable(ApiError):
    status_code = 422


class TooManyRequests(ApiError):
    status_code = 429


class RequestTooLarge(StarletteHTTPException):
    """A request body over its cap, raised while it is read (saekdam_web.guards).

    An HTTPException (not an ApiError) so that FastAPI's body parsing passes it on instead of
    turning it into a 400. The connection is closed after the answer: the rest of the body
    is never read."""

    code = "request_too_large"

    def __init__(self, limit: int, message: str):
        super().__init__(413, message, headers={"Connection": "close"})
        self.limit = limit


# What a 503 service_unavailable tells the client to wait before it tries again.
RETRY_AFTER_S = 5

_HTTP_CODES = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


def error_response(
    status_code: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status_code, headers=headers
    )


def validation_message(errors: list[dict]) -> str:
    """`a.b: msg; c: msg` for a list of pydantic errors."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError):
        return error_response(exc.status_code, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError):
        message = validation_message(list(exc.errors())) or "the request is not valid"
        return error_response(422, "invalid_request", message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException):
        code = getattr(exc, "code", None) or _HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return error_response(exc.status_code, code, message, getattr(exc, "headers", None))

    async def dependency_unavailable(_request: Request, exc: Exception):
        # Redis or the database did not answer in time: tell the client to come back (the
        # dependency usually returns on its own, and the clients retry after Retry-After).
        log.warning("a dependency is unavailable: %s: %s", type(exc).__name__, exc)
        return error_response(
            503,
            "service_unavailable",
            "the service is briefly unavailable; please try again in a few seconds",
            {"Retry-After": str(RETRY_AFTER_S)},
        )

    for error_class in DEPENDENCY_ERRORS:
        app.add_exception_handler(error_class, dependency_unavailable)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        if is_dependency_failure(exc):  # e.g. a DBAPIError whose connection was invalidated
            return await dependency_unavailable(request, exc)
        log.error("unhandled error", exc_info=exc)
        return error_response(500, "internal_error", "something went wrong on our side")
