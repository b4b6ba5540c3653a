"""The web client's types come from a committed copy of the OpenAPI document: it must be the
document this code serves, or the client is typed against an API that no longer exists."""

from saekdam_api.openapi_document import SNAPSHOT, document, render


def test_the_web_clients_copy_of_the_openapi_document_is_current():
    assert SNAPSHOT.read_text(encoding="utf-8") == render(document()), (
        f"{SNAPSHOT} is stale: run `make web-types` and commit the result"
    )


async def test_the_copy_is_the_document_the_api_serves(api):
    served = (await api.get("/openapi.json")).json()
    assert served["paths"].keys() == document()["paths"].keys()
