"""S3Storage against a real S3 HTTP endpoint (moto's server, see tests/fixtures/s3.py)."""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from botocore.exceptions import ClientError

from saekdam_backbone.storage import ObjectNotFound
from saekdam_backbone.storage.s3 import S3Storage

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"not really a png, moto does not care" * 10


def _post_form(url: str, fields: dict[str, str], data: bytes, content_type: str) -> httpx.Response:
    # httpx sends `data` fields before `files`, as S3 requires (the file must come last).
    return httpx.post(url, data=fields, files={"file": ("photo", data, content_type)}, timeout=10)


def test_presigned_post_upload_then_presigned_get(s3_storage: S3Storage):
    key = "uploads/u1/t1/up1"
    form = s3_storage.presign_upload(key, "image/png", max_bytes=10_000, expires_s=600)

    assert form.url.rstrip("/").endswith(f"/{s3_storage.bucket}")  # path-style addressing
    assert form.fields["key"] == key
    assert form.fields["Content-Type"] == "image/png"
    assert form.fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"  # signature version 4
    now = datetime.now(UTC)
    assert now + timedelta(seconds=590) < form.expires_at <= now + timedelta(seconds=601)

    response = _post_form(form.url, form.fields, PNG_BYTES, "image/png")
    assert response.status_code == 204, response.text

    info = s3_storage.head(key)
    assert (info.key, info.size) == (key, len(PNG_BYTES))
    assert now - timedelta(seconds=5) <= info.last_modified <= datetime.now(UTC)
    download = httpx.get(s3_storage.download_url(key, expires_s=60), timeout=10)
    assert download.status_code == 200
    assert download.content == PNG_BYTES
    assert download.headers["content-type"] == "image/png"


def test_presigned_post_policy_carries_the_conditions(s3_storage: S3Storage):
    # moto does not enforce conditions, so check that a real S3 would be asked to.
    form = s3_storage.presign_upload("uploads/u/t/a", "image/webp", max_bytes=1234, expires_s=300)
    policy = json.loads(base64.b64decode(form.fields["policy"]))

    conditions = policy["conditions"]
    assert ["content-length-range", 1, 1234] in conditions
    assert {"Content-Type": "image/webp"} in conditions
    assert {"key": "uploads/u/t/a"} in conditions
    assert {"bucket": s3_storage.bucket} in conditions
    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert abs((expiration - form.expires_at).total_seconds()) < 5


def test_public_endpoint_is_used_for_presigned_urls(moto_server: str):
    # Same server, reached through a different host name: what phones would use.
    port = urlsplit(moto_server).port
    public = f"http://localhost:{port}"
    storage = S3Storage(
        bucket=f"test-{uuid.uuid4().hex[:16]}",
        region="us-east-1",
        endpoint_url=moto_server,
        public_endpoint_url=public,
    )
    storage.ensure_bucket()

    form = storage.presign_upload("uploads/u/t/a", "image/png", 10_000, 600)
    assert form.url.startswith(public + "/")
    assert _post_form(form.url, form.fields, PNG_BYTES, "image/png").status_code == 204

    url = storage.download_url("uploads/u/t/a", 60)
    assert url.startswith(public + "/")
    assert httpx.get(url, timeout=10).content == PNG_BYTES
    # The API itself still talks to the internal endpoint.
    assert storage.read("uploads/u/t/a") == PNG_BYTES


def test_write_read_and_head(s3_storage: S3Storage):
    s3_storage.write("results/t1/1/out.png", PNG_BYTES, "image/png")

    assert s3_storage.read("results/t1/1/out.png") == PNG_BYTES
    assert s3_storage.read("results/t1/1/out.png", max_bytes=len(PNG_BYTES)) == PNG_BYTES
    assert s3_storage.head("results/t1/1/out.png").size == len(PNG_BYTES)
    download = httpx.get(s3_storage.download_url("results/t1/1/out.png", 60), timeout=10)
    assert download.headers["content-type"] == "image/png"


def test_read_refuses_objects_over_max_bytes(s3_storage: S3Storage):
    s3_storage.write("k/big", b"x" * 101, "image/png")
    with pytest.raises(ValueError, match="101 bytes"):
        s3_storage.read("k/big", max_bytes=100)


def test_missing_object(s3_storage: S3Storage):
    assert s3_storage.head("nope/a") is None
    with pytest.raises(ObjectNotFound):
        s3_storage.read("nope/a")


def test_delete_prefix_pages_through_every_object(moto_server: str):
    # A page size of 2 makes 7 objects take 4 list pages and 4 delete calls.
    storage = S3Storage(
        bucket=f"test-{uuid.uuid4().hex[:16]}",
        region="us-east-1",
        endpoint_url=moto_server,
        list_page_size=2,
    )
    storage.ensure_bucket()
    for index in range(7):
        storage.write(f"results/t1/1/{index}.png", b"x", "image/png")
    storage.write("results/t1/10/keep.png", b"x", "image/png")
    storage.write("results/t2/1/keep.png", b"x", "image/png")

    assert storage.delete_prefix("results/t1/1/") == 7
    assert all(storage.head(f"results/t1/1/{index}.png") is None for index in range(7))
    assert storage.head("results/t1/10/keep.png") is not None
    assert storage.head("results/t2/1/keep.png") is not None
    assert storage.delete_prefix("results/t1/1/") == 0


def test_delete_prefix_refuses_an_empty_prefix(s3_storage: S3Storage):
    s3_storage.write("k/a", b"x", "image/png")
    with pytest.raises(ValueError):
        s3_storage.delete_prefix("")
    assert s3_storage.head("k/a") is not None


def test_check_and_ensure_bucket(moto_server: str):
    storage = S3Storage(
        bucket=f"test-{uuid.uuid4().hex[:16]}", region="eu-west-1", endpoint_url=moto_server
    )
    with pytest.raises(ClientError):
        storage.check()

    storage.ensure_bucket()
    storage.ensure_bucket()  # idempotent
    storage.check()


def test_list_keys_finds_objects_by_prefix(s3_storage):
    for key in ("results/t1/1/a.png", "results/t1/2/b.png", "results/t2/1/c.png"):
        s3_storage.write(key, b"x", "image/png")
    assert s3_storage.list_keys("results/t1/") == ["results/t1/1/a.png", "results/t1/2/b.png"]
    assert s3_storage.list_keys("results/none/") == []


def test_bucket_rules_expire_uploads_only_and_let_the_web_origins_in(s3_storage: S3Storage):
    origins = ["https://murals.example", "http://192.168.0.10:8080"]
    assert s3_storage.apply_bucket_rules(origins) == []
    assert s3_storage.apply_bucket_rules(origins) == []  # idempotent
    lifecycle, cors = s3_storage.bucket_rules()
    expiring = [r for r in lifecycle if "Expiration" in r]
    assert [(r["Filter"]["Prefix"], r["Expiration"]["Days"]) for r in expiring] == [("uploads/", 1)]
    # Nothing else expires: inputs, results and board images stay.
    assert all(r["Filter"]["Prefix"] in ("uploads/", "") for r in lifecycle)
    assert cors[0]["AllowedOrigins"] == origins
    assert set(cors[0]["AllowedMethods"]) == {"GET", "HEAD", "POST"}


def test_the_setup_command_creates_the_bucket_with_its_rules(moto_server, monkeypatch, capsys):
    from saekdam_backbone.storage.setup import main

    bucket = f"setup-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("STORAGE_BACKEND", "s3")
    monkeypatch.setenv("S3_BUCKET", bucket)
    monkeypatch.setenv("S3_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("ALLOWED_ORIGINS", '["https://murals.example"]')
    assert main() == 0
    storage = S3Storage(bucket=bucket, region="us-east-1", endpoint_url=moto_server)
    lifecycle, cors = storage.bucket_rules()
    assert cors[0]["AllowedOrigins"] == ["https://murals.example"]
    assert f"bucket '{bucket}' ready" in capsys.readouterr().out
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://not-a-list")
    with pytest.raises(SystemExit, match="JSON list"):
        main()
