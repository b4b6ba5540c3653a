"""The OpenAPI document as the services really answer: every error in the one error shape.

FastAPI documents a 422 as its own `{detail: [...]}` (the services answer
`{"error": {code, message}}`), and knows nothing of the statuses the shared edge adds to every
route: 503 when a dependency is unavailable, 429 from the rate limits, 413 from the body cap,
401 where a token is needed, 500. This rewrites the generated document once, in one place for
both services: those statuses are documented with the error schema, `/metrics` as Prometheus'
text format.
"""

from typing import Any

from fastapi import FastAPI

ERROR_SCHEMA_NAME = "ErrorResponse"
ERROR_SCHEMA: dict[str, Any] = {
    "title": ERROR_SCHEMA_NAME,
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "stable snake_case code"},
                "message": {"type": "string", "description": "a sentence for people"},
            },
        }
    },
}

# Statuses every operation may answer, whatever it does.
EVERY_OPERATION = {
    "400": "The request cannot be done as asked; `code` says why",
    "429": "Too many requests (`rate_limited`); Retry-After says when to try again",
    "500": "Something went wrong on our side (`internal_error`)",
    "503": "A dependency (database, Redis) is briefly unavailable (`service_unavailable`); "
    "Retry-After says when to try again",
}
WITH_BODY = {"413": "The request body is larger than allowed (`request_too_large`)"}
WITH_PATH_ID = {"404": "What the path names does not exist, or is not yours"}
WRITES = {"409": "The request conflicts with the current state (e.g. already submitted)"}
WITH_TOKEN = {"401": "No valid access token (`unauthorized`, `token_expired`, ...)"}
VALIDATION = "The request is not valid (`invalid_request`, or a more precise code)"
PROMETHEUS_TEXT = "text/plain; version=0.0.4"


def _error_response(description: str) -> dict:
    ref = {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}
    return {"description": description, "content": {"application/json": {"schema": ref}}}


def truthful(spec: dict, *, text_paths: frozenset[str] = frozenset({"/metrics"})) -> dict:
    """`spec` with the error statuses documented as they are answered (in place, returned)."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas[ERROR_SCHEMA_NAME] = ERROR_SCHEMA
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in ("get", "put", "post", "delete", "patch", "head", "options"):
                continue
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = _error_response(VALIDATION)
            extra = dict(EVERY_OPERATION)
            if "requestBody" in operation:
                extra |= WITH_BODY
            if operation.get("security"):
                extra |= WITH_TOKEN
            if "{" in path:
                extra |= WITH_PATH_ID
            if method in ("post", "put", "patch", "delete"):
                extra |= WRITES
            for status, description in extra.items():
                documented = responses.get(status)
                if documented is None or "content" not in documented:
                    responses[status] = _error_response(
                        documented["description"] if documented else description
                    )
            if path in text_paths and "200" in responses:
                responses["200"]["content"] = {PROMETHEUS_TEXT: {"schema": {"type": "string"}}}
    # FastAPI's own validation error shapes are answered nowhere.
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return spec


def install_truthful_openapi(app: FastAPI) -> None:
    """Make `app.openapi()` (and /openapi.json) return the rewritten document."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = truthful(generate())
        return app.openapi_schema

    app.openapi = openapi
