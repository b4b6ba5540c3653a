"""The API's request guards in process, on both databases: a body over MAX_REQUEST_BYTES is
413 `request_too_large` before the login reads it (declared) or at the cap (chunked), the
local storage upload form has a cap of its own from MAX_UPLOAD_BYTES, and a control character
in an id is 400 `invalid_path` (PostgreSQL refused a NUL with a 500 before)."""

from collections.abc import AsyncIterator

import pytest

from saekdam_api.routes.storage import upload_body_limit
from saekdam_api.settings import ApiSettings
from saekdam_web.guards import DEFAULT_MAX_REQUEST_BYTES

CHUNK = 64 * 1024


class Counted:
    """A JSON body of `total` bytes that counts what the app took of it."""

    def __init__(self, total: int):
        self.total, self.consumed = total, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"email": "a@example.com", "password": "'
        while self.consumed < self.total:
            self.consumed += CHUNK
            yield b"x" * CHUNK
        yield b'"}'


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_the_cap_is_a_mebibyte_unless_set(api_settings):
    assert DEFAULT_MAX_REQUEST_BYTES == 1024 * 1024
    assert ApiSettings.model_fields["max_request_bytes"].default == 1024 * 1024
    assert api_settings.max_request_bytes == 1024 * 1024


async def test_a_64_mb_login_with_its_length_declared_is_refused_unread(api):
    body = Counted(64 * 1024 * 1024)
    response = await api.post(
        "/v1/auth/login", content=body, headers={"Content-Length": str(64 * 1024 * 1024 + 45)}
    )
    assert_error(response, 413, "request_too_large")
    assert body.consumed == 0


async def test_a_64_mb_chunked_login_is_cut_off_at_the_cap(api):
    body = Counted(64 * 1024 * 1024)
    response = await api.post("/v1/auth/login", content=body)
    assert_error(response, 413, "request_too_large")
    assert body.consumed <= DEFAULT_MAX_REQUEST_BYTES + 2 * CHUNK


async def test_the_local_upload_form_takes_its_own_cap(api, api_settings):
    limit = upload_body_limit(api_settings.max_upload_bytes)
    assert limit > api_settings.max_upload_bytes
    # Over MAX_REQUEST_BYTES but under the form's cap: the route itself answers.
    response = await api.post(
        "/v1/storage/upload",
        content=b"x" * (2 * 1024 * 1024),
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.json()["error"]["code"] != "request_too_large", response.text
    assert response.status_code == 400
    over = await api.post(
        "/v1/storage/upload",
        content=b"",
        headers={"Content-Length": str(limit + 1), "Content-Type": "multipart/form-data"},
    )
    assert_error(over, 413, "request_too_large")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/tasks/%00",
        "/v1/tasks/%00/cancel",
        "/v1/posts/%00",
        "/v1/users/%00",
        "/v1/posts/%00/comments",
        "/v1/tasks/%1f",
        "/v1/tasks/%7F",
        "/v1/tasks?cursor=%00",
    ],
)
async def test_a_control_character_in_a_path_is_a_400_not_a_500(api, path):
    token = (await api.post("/v1/auth/guest")).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    method = "POST" if path.endswith("/cancel") else "GET"
    assert_error(await api.request(method, path, headers=headers), 400, "invalid_path")
