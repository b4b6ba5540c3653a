"""The web client's posture types come from a committed copy of this service's OpenAPI
document: it must be the document this code serves."""

from saekdam_posture.openapi_document import SNAPSHOT, document, render


def test_the_web_clients_copy_of_the_posture_openapi_document_is_current():
    assert SNAPSHOT.read_text(encoding="utf-8") == render(document()), (
        f"{SNAPSHOT} is stale: run `make web-types` and commit the result"
    )
