import base64
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from saekdam_backbone.settings import BackboneSettings
from saekdam_backbone.storage import ObjectNotFound, build_storage
from saekdam_backbone.storage.local import InvalidKey, LocalStorage, PolicyError, validate_key

SECRET = b"test-secret-0123456789abcdef"
BASE_URL = "http://api.example:8000"


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def storage(tmp_path: Path, clock: Clock) -> LocalStorage:
    return LocalStorage(tmp_path / "store", SECRET, BASE_URL + "/", clock=clock)


def _decode_policy(text: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


# -- upload policy ---------------------------------------------------------------------------


def test_presign_upload_builds_a_form_the_storage_accepts(storage: LocalStorage, clock: Clock):
    form = storage.presign_upload("uploads/u1/t1/a", "image/png", 5_000, expires_s=600)

    assert form.url == "http://api.example:8000/v1/storage/upload"
    assert set(form.fields) == {"key", "Content-Type", "policy", "signature"}
    assert form.fields["key"] == "uploads/u1/t1/a"
    assert form.fields["Content-Type"] == "image/png"
    assert int(form.expires_at.timestamp()) == int(clock.now) + 600
    assert _decode_policy(form.fields["policy"]) == {
        "key": "uploads/u1/t1/a",
        "content_type": "image/png",
        "max_bytes": 5_000,
        "expires": int(clock.now) + 600,
    }

    policy = storage.verify_upload_policy(form.fields)
    assert (policy.key, policy.content_type, policy.max_bytes) == (
        "uploads/u1/t1/a",
        "image/png",
        5_000,
    )


def test_tampered_signature_is_refused(storage: LocalStorage):
    fields = storage.presign_upload("uploads/u/t/a", "image/png", 100, 600).fields
    last = fields["signature"][-1]
    fields["signature"] = fields["signature"][:-1] + ("0" if last != "0" else "1")

    with pytest.raises(PolicyError) as refused:
        storage.verify_upload_policy(fields)
    assert refused.value.code == "upload_signature_invalid"


def test_tampered_policy_is_refused(storage: LocalStorage):
    # Raising max_bytes in the policy itself must break the signature.
    fields = storage.presign_upload("uploads/u/t/a", "image/png", 100, 600).fields
    document = _decode_policy(fields["policy"]) | {"max_bytes": 10**9}
    fields["policy"] = base64.urlsafe_b64encode(json.dumps(document).encode()).decode()

    with pytest.raises(PolicyError) as refused:
        storage.verify_upload_policy(fields)
    assert refused.value.code == "upload_signature_invalid"


def test_another_secret_does_not_verify(storage: LocalStorage, tmp_path: Path, clock: Clock):
    other = LocalStorage(tmp_path / "other", b"another-secret", BASE_URL, clock=clock)
    fields = other.presign_upload("uploads/u/t/a", "image/png", 100, 600).fields

    with pytest.raises(PolicyError) as refused:
        storage.verify_upload_policy(fields)
    assert refused.value.code == "upload_signature_invalid"


def test_expired_form_is_refused(storage: LocalStorage, clock: Clock):
    fields = storage.presign_upload("uploads/u/t/a", "image/png", 100, expires_s=60).fields
    storage.verify_upload_policy(fields)  # still valid at the last second
    clock.now += 61

    with pytest.raises(PolicyError) as refused:
        storage.verify_upload_policy(fields)
    assert refused.value.code == "upload_expired"
    assert "expired" in refused.value.message


@pytest.mark.parametrize(
    ("field", "value"), [("key", "uploads/u/t/other"), ("Content-Type", "text/html")]
)
def test_field_not_matching_the_policy_is_refused(storage: LocalStorage, field: str, value: str):
    fields = storage.presign_upload("uploads/u/t/a", "image/png", 100, 600).fields
    fields[field] = value

    with pytest.raises(PolicyError) as refused:
        storage.verify_upload_policy(fields)
    assert refused.value.code == "upload_field_mismatch"
    assert value in refused.value.message


def test_missing_field_is_refused(storage: LocalStorage):
    fields = storage.presign_upload("uploads/u/t/a", "image/png", 100, 600).fields
    del fields["key"]
    with pytest.raises(PolicyError) as refused:
        storage.verify_upload_policy(fields)
    assert refused.value.code == "upload_field_mismatch"

    del fields["signature"]
    with pytest.raises(PolicyError) as refused:
        storage.verify_upload_policy(fields)
    assert refused.value.code == "upload_policy_invalid"


# -- download URLs ---------------------------------------------------------------------------


def _query(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return parts.path, query["expires"][0], query["signature"][0]


def test_download_url_verifies_until_it_expires(storage: LocalStorage, clock: Clock):
    url = storage.download_url("results/t1/1/out.png", expires_s=300)
    path, expires, signature = _query(url)

    assert url.startswith("http://api.example:8000/v1/storage/objects/results/t1/1/out.png?")
    assert path == "/v1/storage/objects/results/t1/1/out.png"
    storage.verify_download("results/t1/1/out.png", expires, signature)

    clock.now += 301
    with pytest.raises(PolicyError) as refused:
        storage.verify_download("results/t1/1/out.png", expires, signature)
    assert refused.value.code == "download_expired"


@pytest.mark.parametrize("tamper", ["key", "expires", "signature", "not_a_number"])
def test_tampered_download_url_is_refused(storage: LocalStorage, tamper: str):
    _, expires, signature = _query(storage.download_url("results/t1/1/out.png", 300))
    key = "results/t1/1/out.png"
    if tamper == "key":
        key = "results/t1/1/other.png"
    elif tamper == "expires":
        expires = str(int(expires) + 3600)  # stretching the lifetime must not work
    elif tamper == "signature":
        signature = "0" * len(signature)
    else:
        expires = "soon"

    with pytest.raises(PolicyError) as refused:
        storage.verify_download(key, expires, signature)
    assert refused.value.code == "download_signature_invalid"


def test_upload_signature_is_not_a_download_signature(storage: LocalStorage):
    fields = storage.presign_upload("uploads/u/t/a", "image/png", 100, 600).fields
    with pytest.raises(PolicyError):
        storage.verify_download("uploads/u/t/a", "9999999999", fields["signature"])


# -- objects ---------------------------------------------------------------------------------


def test_write_read_head_and_content_type(storage: LocalStorage):
    before = datetime.now(UTC) - timedelta(seconds=1)  # mtime granularity
    storage.write("results/t1/1/out.png", b"\x89PNG-bytes", "image/png")

    assert storage.read("results/t1/1/out.png") == b"\x89PNG-bytes"
    info = storage.head("results/t1/1/out.png")
    assert (info.key, info.size) == ("results/t1/1/out.png", 10)
    assert before <= info.last_modified <= datetime.now(UTC)
    path, content_type = storage.open_download("results/t1/1/out.png")
    assert path.read_bytes() == b"\x89PNG-bytes"
    assert content_type == "image/png"


def test_overwrite_replaces_content_and_type(storage: LocalStorage):
    storage.write("k/a", b"first", "image/png")
    storage.write("k/a", b"second!", "image/webp")

    assert storage.read("k/a") == b"second!"
    assert storage.content_type("k/a") == "image/webp"
    assert storage.head("k/a").size == 7


def test_missing_object(storage: LocalStorage):
    assert storage.head("nope/a") is None
    with pytest.raises(ObjectNotFound):
        storage.read("nope/a")
    with pytest.raises(ObjectNotFound):
        storage.open_download("nope/a")


def test_folder_of_longer_keys_is_not_an_object(storage: LocalStorage):
    storage.write("a/b", b"x", "image/png")
    assert storage.head("a") is None
    with pytest.raises(ObjectNotFound):
        storage.read("a")


def test_read_refuses_objects_over_max_bytes(storage: LocalStorage):
    storage.write("k/big", b"x" * 101, "image/png")

    assert storage.read("k/big", max_bytes=101) == b"x" * 101
    with pytest.raises(ValueError, match="101 bytes"):
        storage.read("k/big", max_bytes=100)


def test_staged_object_is_invisible_until_committed(storage: LocalStorage):
    with storage.open_staged("k/staged", "image/jpeg") as staged:
        staged.write(b"part one, ")
        staged.write(b"part two")
        assert storage.head("k/staged") is None
        staged.commit()

    assert storage.read("k/staged") == b"part one, part two"
    assert storage.content_type("k/staged") == "image/jpeg"
    assert list((storage.root / "staging").iterdir()) == []


def test_abandoned_staged_object_leaves_nothing(storage: LocalStorage):
    with pytest.raises(RuntimeError), storage.open_staged("k/abandoned", "image/png") as staged:
        staged.write(b"half")
        raise RuntimeError("client went away")

    assert storage.head("k/abandoned") is None
    assert list((storage.root / "staging").iterdir()) == []


def test_readers_never_see_a_partial_object(storage: LocalStorage):
    # Two distinct full payloads written over and over while a reader polls the key: every
    # read must return one of them whole.
    payloads = [b"a" * 300_000, b"b" * 200_000]
    storage.write("k/hot", payloads[0], "image/png")
    stop = threading.Event()

    def writer() -> None:
        index = 0
        while not stop.is_set():
            index ^= 1
            storage.write("k/hot", payloads[index], "image/png")

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        seen = {storage.read("k/hot") for _ in range(300)}
    finally:
        stop.set()
        thread.join()
    assert seen <= set(payloads)


def test_delete_prefix_removes_only_matching_keys(storage: LocalStorage):
    for key in ("results/t1/1/a.png", "results/t1/1/b.png", "results/t1/10/c.png"):
        storage.write(key, b"x", "image/png")
    storage.write("results/t2/1/a.png", b"x", "image/png")

    assert storage.delete_prefix("results/t1/1/") == 2
    assert storage.head("results/t1/1/a.png") is None
    assert storage.head("results/t1/10/c.png") is not None
    # String prefix semantics, like S3: "results/t1/1" also covers "results/t1/10/...".
    assert storage.delete_prefix("results/t1/1") == 1
    assert storage.head("results/t2/1/a.png") is not None
    assert storage.delete_prefix("results/nothing/") == 0
    # Emptied folders are pruned, metadata included.
    assert not (storage.root / "objects" / "results" / "t1").exists()
    assert not (storage.root / "meta" / "results" / "t1").exists()


def test_write_after_delete_prefix_recreates_folders(storage: LocalStorage):
    storage.write("results/t1/1/a.png", b"x", "image/png")
    storage.delete_prefix("results/t1/")
    storage.write("results/t1/2/a.png", b"y", "image/png")
    assert storage.read("results/t1/2/a.png") == b"y"


@pytest.mark.parametrize(
    "key",
    [
        "../etc/passwd",
        "uploads/../../etc/passwd",
        "uploads/./a",
        "/etc/passwd",
        "uploads//a",
        "uploads/a/",
        "",
        "uploads/a b",
        "uploads/a\\b",
        "uploads/\u00e9",
        "uploads/a\x00",
        "a" * 1025,
    ],
)
def test_unsafe_keys_are_rejected(storage: LocalStorage, key: str):
    with pytest.raises(InvalidKey):
        validate_key(key)
    with pytest.raises(InvalidKey):
        storage.write(key, b"x", "image/png")
    with pytest.raises(InvalidKey):
        storage.presign_upload(key, "image/png", 10, 60)
    with pytest.raises(InvalidKey):
        storage.download_url(key, 60)
    with pytest.raises(InvalidKey):
        storage.head(key)


@pytest.mark.parametrize("prefix", ["", "../", "/", "results/../"])
def test_unsafe_prefixes_are_rejected(storage: LocalStorage, prefix: str):
    with pytest.raises(InvalidKey):
        storage.delete_prefix(prefix)


def test_check_passes_on_a_writable_root(storage: LocalStorage):
    storage.check()


def test_check_fails_when_the_root_is_gone(storage: LocalStorage):
    (storage.root / "staging").rmdir()
    with pytest.raises(OSError):
        storage.check()


# -- build_storage ---------------------------------------------------------------------------


def test_build_storage_local(tmp_path: Path):
    settings = BackboneSettings(
        storage_backend="local",
        storage_local_root=str(tmp_path / "s"),
        storage_signing_secret="x" * 32,
        public_base_url="http://phones.example",
    )
    storage = build_storage(settings)
    assert isinstance(storage, LocalStorage)
    assert storage.download_url("a/b", 60).startswith(
        "http://phones.example/v1/storage/objects/a/b?"
    )


def test_build_storage_local_needs_a_secret(tmp_path: Path):
    settings = BackboneSettings(storage_backend="local", storage_local_root=str(tmp_path))
    with pytest.raises(ValueError, match="STORAGE_SIGNING_SECRET"):
        build_storage(settings)


def test_build_storage_s3():
    from saekdam_backbone.storage.s3 import S3Storage

    settings = BackboneSettings(
        storage_backend="s3", s3_bucket="b", s3_endpoint_url="http://s3:8333"
    )
    storage = build_storage(settings)
    assert isinstance(storage, S3Storage)
    assert storage.bucket == "b"


def test_list_keys_finds_objects_by_string_prefix(tmp_path):
    from saekdam_backbone.storage.local import LocalStorage

    storage = LocalStorage(tmp_path, b"secret", "http://api")
    for key in ("results/t1/1/a.png", "results/t1/2/b.png", "results/t2/1/c.png"):
        storage.write(key, b"x", "image/png")
    assert storage.list_keys("results/t1/") == ["results/t1/1/a.png", "results/t1/2/b.png"]
    assert storage.list_keys("results/none/") == []
