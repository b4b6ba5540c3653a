"""The local backend's upload form and download endpoints, driven over ASGI."""

import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from saekdam_api.routes.storage import router
from saekdam_backbone.storage.local import LocalStorage
from saekdam_web.errors import ApiError

BASE_URL = "http://testserver"
KEY = "uploads/u1/t1/up1"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def build_app(storage: object) -> FastAPI:
    app = FastAPI()
    app.include_router(router)
    app.state.storage = storage

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            {"error": {"code": exc.code, "message": exc.message}}, status_code=exc.status_code
        )

    return app


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def storage(tmp_path: Path, clock: Clock) -> LocalStorage:
    return LocalStorage(tmp_path, b"route-test-secret", BASE_URL, clock=clock)


@pytest.fixture
async def client(storage: LocalStorage) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(storage))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


async def _upload(
    client: httpx.AsyncClient, fields: dict[str, str], data: bytes, file_type: str = "image/png"
) -> httpx.Response:
    # httpx puts `data` before `files`: the signed fields precede the file, as with S3.
    return await client.post(
        "/v1/storage/upload", data=fields, files={"file": ("photo.png", data, file_type)}
    )


def _error(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


def _staging_is_empty(storage: LocalStorage) -> bool:
    return list((storage.root / "staging").iterdir()) == []


async def test_upload_then_signed_download(client: httpx.AsyncClient, storage: LocalStorage):
    form = storage.presign_upload(KEY, "image/png", max_bytes=10_000, expires_s=600)
    assert urlsplit(form.url).path == "/v1/storage/upload"

    # The file part's own content type is ignored; the signed Content-Type field decides.
    response = await _upload(client, form.fields, PNG_BYTES, file_type="text/html")
    assert response.status_code == 204
    assert response.content == b""
    assert storage.read(KEY) == PNG_BYTES

    download = await client.get(storage.download_url(KEY, expires_s=60))
    assert download.status_code == 200
    assert download.content == PNG_BYTES
    assert download.headers["content-type"] == "image/png"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert _staging_is_empty(storage)


async def test_upload_of_exactly_max_bytes_is_accepted(
    client: httpx.AsyncClient, storage: LocalStorage
):
    form = storage.presign_upload(KEY, "image/png", max_bytes=len(PNG_BYTES), expires_s=600)
    assert (await _upload(client, form.fields, PNG_BYTES)).status_code == 204
    assert storage.head(KEY).size == len(PNG_BYTES)


async def test_oversize_upload_is_refused(client: httpx.AsyncClient, storage: LocalStorage):
    form = storage.presign_upload(KEY, "image/png", max_bytes=len(PNG_BYTES) - 1, expires_s=600)

    response = await _upload(client, form.fields, PNG_BYTES)
    assert response.status_code == 413
    assert _error(response) == "upload_too_large"
    assert storage.head(KEY) is None
    assert _staging_is_empty(storage)


async def test_huge_upload_is_refused_without_reading_it_all(
    client: httpx.AsyncClient, storage: LocalStorage
):
    max_bytes, chunk_size, chunks = 1 << 20, 64 << 10, 1600  # a 100 MB body
    form = storage.presign_upload(KEY, "image/png", max_bytes=max_bytes, expires_s=600)
    boundary = "test-boundary-7d4a"
    preamble = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in form.fields.items()
    )
    preamble += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    )
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield preamble.encode()
        for _ in range(chunks):
            sent += chunk_size
            yield b"\0" * chunk_size
        yield f"\r\n--{boundary}--\r\n".encode()

    response = await client.post(
        "/v1/storage/upload",
        content=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 413
    assert _error(response) == "upload_too_large"
    # Refused as soon as the limit was crossed, not after 100 MB.
    assert sent <= max_bytes + 2 * chunk_size
    assert storage.head(KEY) is None
    assert _staging_is_empty(storage)


async def test_tampered_signature_is_refused(client: httpx.AsyncClient, storage: LocalStorage):
    fields = storage.presign_upload(KEY, "image/png", 10_000, 600).fields
    fields["signature"] = "f" * 64

    response = await _upload(client, fields, PNG_BYTES)
    assert response.status_code == 403
    assert _error(response) == "upload_signature_invalid"
    assert storage.head(KEY) is None


async def test_expired_form_is_refused(client: httpx.AsyncClient, storage: LocalStorage):
    fields = storage.presign_upload(KEY, "image/png", 10_000, expires_s=-1).fields

    response = await _upload(client, fields, PNG_BYTES)
    assert response.status_code == 403
    assert _error(response) == "upload_expired"
    assert storage.head(KEY) is None


async def test_form_expires_with_the_clock(
    client: httpx.AsyncClient, storage: LocalStorage, clock: Clock
):
    fields = storage.presign_upload(KEY, "image/png", 10_000, expires_s=600).fields
    clock.now += 601

    response = await _upload(client, fields, PNG_BYTES)
    assert (response.status_code, _error(response)) == (403, "upload_expired")


async def test_fields_other_than_signed_are_refused(
    client: httpx.AsyncClient, storage: LocalStorage
):
    fields = storage.presign_upload(KEY, "image/png", 10_000, 600).fields
    fields["Content-Type"] = "text/html"

    response = await _upload(client, fields, PNG_BYTES)
    assert (response.status_code, _error(response)) == (403, "upload_field_mismatch")


async def test_form_without_file_is_refused(client: httpx.AsyncClient, storage: LocalStorage):
    fields = storage.presign_upload(KEY, "image/png", 10_000, 600).fields
    response = await client.post(
        "/v1/storage/upload", files={name: (None, value) for name, value in fields.items()}
    )
    assert (response.status_code, _error(response)) == (400, "upload_file_missing")


async def test_empty_file_is_refused(client: httpx.AsyncClient, storage: LocalStorage):
    fields = storage.presign_upload(KEY, "image/png", 10_000, 600).fields
    response = await _upload(client, fields, b"")
    assert (response.status_code, _error(response)) == (400, "upload_empty")
    assert storage.head(KEY) is None
    assert _staging_is_empty(storage)


async def test_non_multipart_body_is_refused(client: httpx.AsyncClient):
    response = await client.post("/v1/storage/upload", json={"key": KEY})
    assert (response.status_code, _error(response)) == (400, "upload_form_invalid")


async def test_tampered_download_is_refused(client: httpx.AsyncClient, storage: LocalStorage):
    storage.write(KEY, PNG_BYTES, "image/png")
    url = storage.download_url(KEY, 60)

    other_key = await client.get(url.replace(KEY, "uploads/u1/t1/up2"))
    assert (other_key.status_code, _error(other_key)) == (403, "download_signature_invalid")
    unsigned = await client.get(f"/v1/storage/objects/{KEY}")
    assert (unsigned.status_code, _error(unsigned)) == (403, "download_signature_invalid")


async def test_expired_download_is_refused(
    client: httpx.AsyncClient, storage: LocalStorage, clock: Clock
):
    storage.write(KEY, PNG_BYTES, "image/png")
    url = storage.download_url(KEY, 60)
    clock.now += 61

    response = await client.get(url)
    assert (response.status_code, _error(response)) == (403, "download_expired")


async def test_download_of_a_missing_object(client: httpx.AsyncClient, storage: LocalStorage):
    response = await client.get(storage.download_url("results/t9/1/none.png", 60))
    assert (response.status_code, _error(response)) == (404, "object_not_found")


async def test_routes_answer_404_when_storage_is_not_local(storage: LocalStorage):
    transport = httpx.ASGITransport(app=build_app(object()))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        form = storage.presign_upload(KEY, "image/png", 10_000, 600)
        upload = await _upload(client, form.fields, PNG_BYTES)
        download = await client.get(storage.download_url(KEY, 60))
    assert upload.status_code == download.status_code == 404
