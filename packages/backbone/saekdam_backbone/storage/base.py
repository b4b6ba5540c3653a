"""One object storage interface, two backends (`local` and `s3`).

Methods are synchronous: boto3 is, and the worker calls them from job threads. The API
calls them through `asyncio.to_thread`.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class UploadForm:
    """A presigned POST: the client sends every field, then the file as `file`, to `url`."""

    url: str
    fields: dict[str, str]
    expires_at: datetime


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    # When the object landed; lets the API refuse an upload that arrived after its policy
    # expired on stores that do not enforce expiry themselves (moto).
    last_modified: datetime | None = None


class ObjectNotFound(LookupError):
    pass


class ObjectStorage(Protocol):
    def presign_upload(
        self, key: str, content_type: str, max_bytes: int, expires_s: int
    ) -> UploadForm: ...

    def head(self, key: str) -> ObjectInfo | None: ...

    def read(self, key: str, max_bytes: int | None = None) -> bytes: ...

    def write(self, key: str, data: bytes, content_type: str) -> None: ...

    def download_url(self, key: str, expires_s: int) -> str: ...

    def list_keys(self, prefix: str) -> list[str]: ...

    def delete_prefix(self, prefix: str) -> int: ...

    def check(self) -> None:
        """Raise if the store cannot be reached (readiness probe)."""
