"""Object storage on the local filesystem, for `make run` and single-machine installs.

It mimics the S3 contract the clients rely on: uploads go through a signed POST form
(served by the API's `/v1/storage/upload`), downloads through signed, expiring URLs.

Layout under `root`:
    objects/<key>        the bytes
    meta/<key>.json      {"content_type": ...}, because downloads must answer with it
    staging/             temporary files, moved into place with os.replace
Everything lives on one filesystem, so os.replace is atomic: a reader sees the old object or
the new one, never half a file.
"""

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Self
from urllib.parse import quote, urlencode

from saekdam_backbone.storage.base import ObjectInfo, ObjectNotFound, UploadForm

UPLOAD_PATH = "/v1/storage/upload"
DOWNLOAD_PATH = "/v1/storage/objects/"
DEFAULT_CONTENT_TYPE = "application/octet-stream"

_SEGMENT = r"[A-Za-z0-9._-]+"
_KEY_RE = re.compile(rf"{_SEGMENT}(/{_SEGMENT})*")
_MAX_KEY_LENGTH = 1024  # S3's limit; keeps both backends accepting the same keys.


class InvalidKey(ValueError):
    pass


class PolicyError(Exception):
    """A signed upload form or download URL was refused. `code` is a stable snake_case id."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Policy:
    key: str
    content_type: str
    max_bytes: int
    expires: int  # epoch seconds


def validate_key(key: str) -> str:
    """Refuse anything that could leave the storage folder or differ between backends."""
    if len(key) > _MAX_KEY_LENGTH or not _KEY_RE.fullmatch(key):
        raise InvalidKey(f"Invalid storage key {key!r}.")
    if any(segment in (".", "..") for segment in key.split("/")):
        raise InvalidKey(f"Invalid storage key {key!r}: '.' and '..' segments are not allowed.")
    return key


def _validate_prefix(prefix: str) -> str:
    # An empty prefix would mean "everything"; no caller needs that, so refuse it.
    if not prefix:
        raise InvalidKey("An empty prefix is not allowed.")
    validate_key(prefix.removesuffix("/"))
    return prefix


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class StagedObject:
    """An object being written piece by piece; invisible until `commit()`.

    The API's upload endpoint streams a request body into one of these, so a large upload is
    never held in memory.
    """

    def __init__(self, storage: "LocalStorage", key: str, content_type: str):
        self._storage = storage
        self.key = validate_key(key)
        self.content_type = content_type
        self.size = 0
        self._file: IO[bytes] = storage._new_staging_file()

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self.size += len(data)

    def commit(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._storage._publish(Path(self._file.name), self.key, self.content_type)

    def discard(self) -> None:
        self._file.close()
        Path(self._file.name).unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # Committed files were moved away; anything still here is an abandoned upload.
        if exc_type is not None or not self._file.closed:
            self.discard()


class LocalStorage:
    def __init__(
        self,
        root: Path,
        secret: bytes,
        public_base_url: str,
        *,
        clock: Callable[[], float] = time.time,
    ):
        if not secret:
            raise ValueError("LocalStorage needs a non-empty signing secret.")
        self.root = Path(root)
        self._objects = self.root / "objects"
        self._meta = self.root / "meta"
        self._staging = self.root / "staging"
        for folder in (self._objects, self._meta, self._staging):
            folder.mkdir(parents=True, exist_ok=True)
        self._secret = secret
        self._base_url = public_base_url.rstrip("/")
        self._clock = clock

    # -- signing -------------------------------------------------------------------------

    def _sign(self, purpose: str, message: str) -> str:
        # The purpose prefix keeps an upload signature from ever passing as a download one.
        payload = f"{purpose}\n{message}".encode()
        return hmac.new(self._secret, payload, hashlib.sha256).hexdigest()

    def _now(self) -> int:
        return int(self._clock())

    def presign_upload(
        self, key: str, content_type: str, max_bytes: int, expires_s: int
    ) -> UploadForm:
        validate_key(key)
        if max_bytes < 1:
            raise ValueError("max_bytes must be at least 1.")
        expires = self._now() + expires_s
        document = {
            "key": key,
            "content_type": content_type,
            "max_bytes": max_bytes,
            "expires": expires,
        }
        policy = _b64url_encode(json.dumps(document, separators=(",", ":")).encode())
        fields = {
            "key": key,
            "Content-Type": content_type,
            "policy": policy,
            "signature": self._sign("upload", policy),
        }
        return UploadForm(
            url=self._base_url + UPLOAD_PATH,
            fields=fields,
            expires_at=datetime.fromtimestamp(expires, UTC),
        )

    def verify_upload_policy(self, fields: Mapping[str, str]) -> Policy:
        """Check a submitted upload form; return the policy it carries or raise PolicyError."""
        policy_text = fields.get("policy")
        signature = fields.get("signature")
        if not policy_text or not signature:
            raise PolicyError(
                "upload_policy_invalid", "The upload form needs both 'policy' and 'signature'."
            )
        expected = self._sign("upload", policy_text)
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            raise PolicyError("upload_signature_invalid", "The upload form signature is invalid.")
        try:
            document = json.loads(_b64url_decode(policy_text))
            policy = Policy(
                key=str(document["key"]),
                content_type=str(document["content_type"]),
                max_bytes=int(document["max_bytes"]),
                expires=int(document["expires"]),
            )
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            # Only reachable with a valid signature, i.e. a policy this server produced.
            raise PolicyError("upload_policy_invalid", "The upload policy is malformed.") from exc
        now = self._now()
        if now > policy.expires:
            raise PolicyError(
                "upload_expired",
                f"The upload form expired {now - policy.expires} s ago; ask for a new one.",
            )
        for name, allowed in (("key", policy.key), ("Content-Type", policy.content_type)):
            submitted = fields.get(name)
            if submitted is None:
                raise PolicyError("upload_field_mismatch", f"The form has no {name!r} field.")
            if submitted != allowed:
                raise PolicyError(
                    "upload_field_mismatch",
                    f"The form field {name!r} is {submitted!r} but the policy allows {allowed!r}.",
                )
        return policy

    def download_url(self, key: str, expires_s: int) -> str:
        validate_key(key)
        expires = self._now() + expires_s
        query = urlencode({"expires": expires, "signature": self._download_signature(key, expires)})
        return f"{self._base_url}{DOWNLOAD_PATH}{quote(key)}?{query}"

    def _download_signature(self, key: str, expires: int) -> str:
        return self._sign("download", f"{key}\n{expires}")

    def verify_download(self, key: str, expires: int | str, signature: str) -> None:
        try:
            expires_at = int(expires)
        except (TypeError, ValueError):
            expires_at = None
        expected = "" if expires_at is None else self._download_signature(key, expires_at)
        if expires_at is None or not hmac.compare_digest(
            expected.encode(), signature.encode("utf-8", "replace")
        ):
            raise PolicyError("download_signature_invalid", "The download link is invalid.")
        now = self._now()
        if now > expires_at:
            raise PolicyError(
                "download_expired", f"The download link expired {now - expires_at} s ago."
            )

    # -- objects -------------------------------------------------------------------------

    def _object_path(self, key: str) -> Path:
        return self._objects / validate_key(key)

    def _meta_path(self, key: str) -> Path:
        return self._meta / (validate_key(key) + ".json")

    def _new_staging_file(self) -> IO[bytes]:
        return tempfile.NamedTemporaryFile(dir=self._staging, prefix="put-", delete=False)

    def _replace_into(self, source: Path, target: Path) -> None:
        # delete_prefix prunes empty folders; if it removes ours between mkdir and replace,
        # make it again.
        for attempt in range(3):
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(source, target)
                return
            except FileNotFoundError:
                if attempt == 2 or not source.exists():
                    raise

    def _publish(self, staged: Path, key: str, content_type: str) -> None:
        # Metadata first: whenever the object is visible, its content type is too.
        meta_file = self._new_staging_file()
        with meta_file:
            meta_file.write(json.dumps({"content_type": content_type}).encode())
        try:
            self._replace_into(Path(meta_file.name), self._meta_path(key))
            self._replace_into(staged, self._object_path(key))
        finally:
            Path(meta_file.name).unlink(missing_ok=True)
            staged.unlink(missing_ok=True)

    def open_staged(self, key: str, content_type: str) -> StagedObject:
        return StagedObject(self, key, content_type)

    def write(self, key: str, data: bytes, content_type: str) -> None:
        with self.open_staged(key, content_type) as staged:
            staged.write(data)
            staged.commit()

    def head(self, key: str) -> ObjectInfo | None:
        try:
            info = self._object_path(key).stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat.S_ISREG(info.st_mode):  # a folder made by a longer key, e.g. "a" for "a/b"
            return None
        # os.replace keeps the staged file's mtime: the moment the last byte was written.
        landed = datetime.fromtimestamp(info.st_mtime, UTC)
        return ObjectInfo(key=key, size=info.st_size, last_modified=landed)

    def read(self, key: str, max_bytes: int | None = None) -> bytes:
        try:
            file = self._object_path(key).open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise ObjectNotFound(key) from exc
        with file:
            size = os.fstat(file.fileno()).st_size
            if max_bytes is not None and size > max_bytes:
                raise ValueError(f"Object {key!r} is {size} bytes, more than {max_bytes}.")
            return file.read()

    def content_type(self, key: str) -> str:
        try:
            return json.loads(self._meta_path(key).read_bytes())["content_type"]
        except (FileNotFoundError, NotADirectoryError, ValueError, KeyError):
            return DEFAULT_CONTENT_TYPE

    def open_download(self, key: str) -> tuple[Path, str]:
        """The file to stream for `key` and its content type; ObjectNotFound if missing."""
        path = self._object_path(key)
        if not path.is_file():
            raise ObjectNotFound(key)
        return path, self.content_type(key)

    def list_keys(self, prefix: str) -> list[str]:
        _validate_prefix(prefix)
        folder = prefix.rpartition("/")[0]
        start = self._objects / folder if folder else self._objects
        keys = (p.relative_to(self._objects).as_posix() for p in start.rglob("*") if p.is_file())
        return sorted(key for key in keys if key.startswith(prefix))

    def delete_prefix(self, prefix: str) -> int:
        _validate_prefix(prefix)
        # Keys match by string prefix, like S3: only the folder holding the prefix's last
        # complete segment can contain matches.
        folder = prefix.rpartition("/")[0]
        start = self._objects / folder if folder else self._objects
        if not start.is_dir():
            return 0
        deleted = 0
        for dirpath, _dirnames, filenames in os.walk(start, topdown=False):
            for name in filenames:
                path = Path(dirpath, name)
                key = path.relative_to(self._objects).as_posix()
                if not key.startswith(prefix):
                    continue
                # Object before metadata, the reverse of _publish.
                path.unlink(missing_ok=True)
                self._meta_path(key).unlink(missing_ok=True)
                deleted += 1
            self._prune(Path(dirpath))
        # Also drop the now empty parents (e.g. results/<task>/ after its last attempt).
        for parent in start.relative_to(self._objects).parents:
            if parent != Path("."):
                self._prune(self._objects / parent)
        return deleted

    def _prune(self, folder: Path) -> None:
        """Remove `folder` and its metadata twin if empty (empty folders pile up otherwise)."""
        if folder == self._objects:
            return
        relative = folder.relative_to(self._objects)
        for tree in (self._objects, self._meta):
            with contextlib.suppress(OSError):  # not empty, or already gone
                (tree / relative).rmdir()

    def check(self) -> None:
        # A write probe, not just an exists(): a read-only or full disk must fail readiness.
        with tempfile.NamedTemporaryFile(dir=self._staging, prefix="check-") as probe:
            probe.write(b"ok")
            probe.flush()
