"""The local storage backend's own endpoints: signed upload form and signed downloads.

Mounted only when STORAGE_BACKEND=local; with S3 clients talk to the bucket directly. The
upload takes the same form as an S3 presigned POST (every field, then `file`), answers 204 like
S3 does, and refuses what S3 would: a bad signature, an expired form, other fields than signed,
a file over the signed size.
"""

import asyncio

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from saekdam_backbone.storage.base import ObjectNotFound
from saekdam_backbone.storage.local import (
    InvalidKey,
    LocalStorage,
    Policy,
    PolicyError,
    StagedObject,
)
from saekdam_web.errors import ApiError, BadRequest, Forbidden, NotFound, PayloadTooLarge

router = APIRouter(tags=["storage"])

# The form's own fields are a few hundred bytes; these bounds only stop abuse.
MAX_FORM_FIELDS = 16
MAX_FIELD_BYTES = 8 * 1024

UPLOAD_PATH = "/v1/storage/upload"


def upload_body_limit(max_upload_bytes: int) -> int:
    """The upload form's cap on the whole request body (saekdam_web.guards; every other route
    takes MAX_REQUEST_BYTES): the largest file, plus the most fields, part headers and
    boundaries the form may have. The file itself is held to its signed size while it
    streams."""
    return max_upload_bytes + MAX_FORM_FIELDS * (MAX_FIELD_BYTES + 1024) + 64 * 1024


_POLICY_ERROR_STATUS = {
    "upload_signature_invalid": 403,
    "upload_expired": 403,
    "upload_field_mismatch": 403,
    "upload_policy_invalid": 400,
}

_UPLOAD_FORM_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["key", "Content-Type", "policy", "signature", "file"],
                    "properties": {
                        "key": {"type": "string"},
                        "Content-Type": {"type": "string"},
                        "policy": {"type": "string"},
                        "signature": {"type": "string"},
                        "file": {"type": "string", "format": "binary"},
                    },
                }
            }
        },
    }
}


def _local_storage(request: Request) -> LocalStorage:
    storage = getattr(request.app.state, "storage", None)
    if not isinstance(storage, LocalStorage):
        # With S3 these paths do not exist, whoever mounted the router.
        raise NotFound("not_found", "This server does not serve storage objects itself.")
    return storage


class _UploadFormReader:
    """Parses the form as it arrives and streams `file` into a staged object.

    The policy is checked when the `file` part starts (the signed fields come first, as S3
    requires), and the file is counted while it streams, so an unsigned or oversized upload
    is refused after at most max_bytes + one chunk, without buffering or storing it.
    """

    def __init__(self, storage: LocalStorage):
        self._storage = storage
        self.fields: dict[str, str] = {}
        self.policy: Policy | None = None
        self.staged: StagedObject | None = None
        self.received = 0
        self.file_done = False
        self._pending: list[bytes] = []
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._disposition = b""
        self._part_name = ""
        self._part_is_file = False
        self._part_data = bytearray()

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._on_part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
        }

    def _on_part_begin(self) -> None:
        self._disposition = b""
        self._part_name = ""
        self._part_is_file = False
        self._part_data = bytearray()

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_name = bytearray()
        self._header_value = bytearray()

    def _on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        name = options.get(b"name")
        if name is None:
            raise BadRequest("upload_form_invalid", "A form part has no name.")
        self._part_name = name.decode("utf-8", "replace")
        if self._part_name == "file":
            self.policy = self._storage.verify_upload_policy(self.fields)
            self._part_is_file = True
        elif len(self.fields) >= MAX_FORM_FIELDS:
            raise BadRequest(
                "upload_form_invalid", f"The form has more than {MAX_FORM_FIELDS} fields."
            )

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._part_is_file:
            if len(self._part_data) + end - start > MAX_FIELD_BYTES:
                raise BadRequest(
                    "upload_form_invalid",
                    f"The form field {self._part_name!r} is longer than {MAX_FIELD_BYTES} bytes.",
                )
            self._part_data += data[start:end]
            return
        assert self.policy is not None  # set when the file part started
        self.received += end - start
        if self.received > self.policy.max_bytes:
            raise PayloadTooLarge(
                "upload_too_large",
                f"The file is larger than the {self.policy.max_bytes} bytes this upload allows.",
            )
        self._pending.append(bytes(data[start:end]))

    def _on_part_end(self) -> None:
        if self._part_is_file:
            self.file_done = True
        elif self._part_name in self.fields:
            raise BadRequest(
                "upload_form_invalid", f"The form field {self._part_name!r} appears twice."
            )
        else:
            self.fields[self._part_name] = self._part_data.decode("utf-8", "replace")

    async def flush(self) -> None:
        """Write what the parser handed over; file work runs off the event loop."""
        if self.policy is None:
            return
        if self.staged is None:
            policy = self.policy
            self.staged = await asyncio.to_thread(
                self._storage.open_staged, policy.key, policy.content_type
            )
        if self._pending:
            chunk = b"".join(self._pending)
            self._pending.clear()
            await asyncio.to_thread(self.staged.write, chunk)


def _boundary(request: Request) -> bytes:
    media_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if media_type != b"multipart/form-data" or not boundary:
        raise BadRequest("upload_form_invalid", "The upload must be sent as multipart/form-data.")
    return boundary


async def _receive_upload(request: Request, reader: _UploadFormReader) -> None:
    parser = MultipartParser(_boundary(request), reader.callbacks())
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            await reader.flush()
            if reader.file_done:
                # Anything after the file is ignored, as S3 does.
                return
    except FormParserError as exc:
        raise BadRequest("upload_form_invalid", "The multipart form is malformed.") from exc
    except PolicyError as exc:
        raise ApiError(exc.code, exc.message, _POLICY_ERROR_STATUS.get(exc.code, 400)) from exc
    if reader.policy is None:
        raise BadRequest("upload_file_missing", "The form has no 'file' field.")
    raise BadRequest("upload_form_invalid", "The upload ended before the file was complete.")


@router.post(UPLOAD_PATH, status_code=204, openapi_extra=_UPLOAD_FORM_SCHEMA)
async def upload(request: Request) -> Response:
    storage = _local_storage(request)
    reader = _UploadFormReader(storage)
    try:
        await _receive_upload(request, reader)
        if reader.received == 0:
            raise BadRequest("upload_empty", "The uploaded file is empty.")
        assert reader.staged is not None  # flush() opens it once the policy is known
        await asyncio.to_thread(reader.staged.commit)
    except BaseException:
        if reader.staged is not None:
            await asyncio.to_thread(reader.staged.discard)
        raise
    return Response(status_code=204)


@router.get("/v1/storage/objects/{key:path}")
async def download(
    key: str, request: Request, expires: str = "", signature: str = ""
) -> FileResponse:
    storage = _local_storage(request)
    try:
        storage.verify_download(key, expires, signature)
    except PolicyError as exc:
        raise Forbidden(exc.code, exc.message) from exc
    try:
        path, content_type = await asyncio.to_thread(storage.open_download, key)
    except (ObjectNotFound, InvalidKey) as exc:
        raise NotFound("object_not_found", "The requested object does not exist.") from exc
    return FileResponse(
        path,
        media_type=content_type,
        # Uploads are served from the API's own origin: never let a browser run one as a page.
        headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"},
    )
