"""The rewritten OpenAPI document documents every error status in the one error shape."""

from fastapi import Depends, FastAPI
from fastapi.security import HTTPBearer
from pydantic import BaseModel

from saekdam_web.openapi import ERROR_SCHEMA_NAME, install_truthful_openapi

bearer = HTTPBearer()


class Body(BaseModel):
    name: str


def app_with_routes() -> FastAPI:
    app = FastAPI()

    @app.post("/things")
    async def make(body: Body, token=Depends(bearer)) -> dict:
        return {}

    @app.get("/open/{thing_id}")
    async def read(thing_id: int) -> dict:
        return {}

    @app.get("/metrics")
    async def metrics() -> str:
        return ""

    install_truthful_openapi(app)
    return app


def error_ref(response: dict) -> str:
    return response["content"]["application/json"]["schema"]["$ref"]


def test_every_error_status_is_documented_with_the_error_shape():
    spec = app_with_routes().openapi()
    ref = f"#/components/schemas/{ERROR_SCHEMA_NAME}"
    make = spec["paths"]["/things"]["post"]["responses"]
    assert {"401", "413", "422", "429", "500", "503"} <= set(make)
    assert all(error_ref(make[s]) == ref for s in ("401", "413", "422", "429", "500", "503"))
    read = spec["paths"]["/open/{thing_id}"]["get"]["responses"]
    assert "401" not in read and "413" not in read  # no token, no body
    assert error_ref(read["422"]) == ref
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert list(spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]) == [
        "text/plain; version=0.0.4"
    ]
