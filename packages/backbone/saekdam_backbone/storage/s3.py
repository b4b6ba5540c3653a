"""Object storage on S3 or any S3-compatible server.

Phones upload straight to the bucket with a presigned POST and download with presigned GETs,
so no image bytes pass through the API. Servers that do not enforce POST policy conditions
exist (moto does not), so the API still verifies every upload after it lands.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from saekdam_backbone.storage.base import ObjectInfo, ObjectNotFound, UploadForm

_NOT_FOUND_CODES = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}

# Client uploads wait under uploads/ only until the API verifies and copies them (inputs/,
# board/): a day is plenty, and an abandoned upload form leaves nothing behind for long.
UPLOADS_PREFIX = "uploads/"
LIFECYCLE_RULES = [
    {
        "ID": "uploads-expire-after-a-day",
        "Filter": {"Prefix": UPLOADS_PREFIX},
        "Status": "Enabled",
        "Expiration": {"Days": 1},
    },
    {
        "ID": "unfinished-multipart-uploads",
        "Filter": {"Prefix": ""},
        "Status": "Enabled",
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
    },
]


def cors_rules(allowed_origins: list[str]) -> list[dict]:
    """Browsers on these origins POST to presigned upload forms and GET presigned results."""
    return [
        {
            "AllowedOrigins": list(allowed_origins),
            "AllowedMethods": ["GET", "HEAD", "POST"],
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["ETag", "Content-Length", "Content-Type"],
            "MaxAgeSeconds": 3600,
        }
    ]


def _is_not_found(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in _NOT_FOUND_CODES


def _make_client(region: str, endpoint_url: str | None) -> Any:
    config = Config(
        signature_version="s3v4",
        # S3-compatible servers behind a plain host name cannot do virtual-host addressing.
        s3={"addressing_style": "path"} if endpoint_url else {},
        connect_timeout=5,
        read_timeout=30,
        retries={"mode": "standard", "max_attempts": 3},
    )
    return boto3.session.Session().client(
        "s3", region_name=region, endpoint_url=endpoint_url, config=config
    )


class S3Storage:
    def __init__(
        self,
        bucket: str,
        region: str,
        endpoint_url: str | None = None,
        public_endpoint_url: str | None = None,
        client: Any = None,
        *,
        list_page_size: int = 1000,
    ):
        self.bucket = bucket
        self.region = region
        self._client = client if client is not None else _make_client(region, endpoint_url)
        # Presigned URLs embed the host they were signed for, so they must be signed for the
        # address clients use (in compose the API reaches S3 at http://s3:8333, phones cannot).
        # Signing is local: this client never connects anywhere.
        if public_endpoint_url:
            self._presigner = _make_client(region, public_endpoint_url)
        else:
            self._presigner = self._client
        self._list_page_size = list_page_size

    def presign_upload(
        self, key: str, content_type: str, max_bytes: int, expires_s: int
    ) -> UploadForm:
        expires_at = datetime.now(UTC) + timedelta(seconds=expires_s)
        post = self._presigner.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_s,
        )
        return UploadForm(url=post["url"], fields=dict(post["fields"]), expires_at=expires_at)

    def download_url(self, key: str, expires_s: int) -> str:
        return self._presigner.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_s
        )

    def head(self, key: str) -> ObjectInfo | None:
        try:
            response = self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _is_not_found(error):
                return None
            raise
        return ObjectInfo(
            key=key,
            size=int(response["ContentLength"]),
            last_modified=response.get("LastModified"),  # timezone-aware (UTC) from botocore
        )

    def read(self, key: str, max_bytes: int | None = None) -> bytes:
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _is_not_found(error):
                raise ObjectNotFound(key) from error
            raise
        body = response["Body"]
        with body:
            # The length arrives with the headers: refuse before reading a byte of the body.
            size = int(response["ContentLength"])
            if max_bytes is not None and size > max_bytes:
                raise ValueError(f"Object {key!r} is {size} bytes, more than {max_bytes}.")
            return body.read()

    def write(self, key: str, data: bytes, content_type: str) -> None:
        self._client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def list_keys(self, prefix: str) -> list[str]:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def delete_prefix(self, prefix: str) -> int:
        # An empty prefix would empty the bucket; no caller needs that.
        if not prefix:
            raise ValueError("An empty prefix is not allowed.")
        deleted = 0
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket,
            Prefix=prefix,
            PaginationConfig={"PageSize": self._list_page_size},
        )
        for page in pages:
            # A page holds at most 1000 keys, the most one delete_objects call accepts.
            objects = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if not objects:
                continue
            response = self._client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": objects, "Quiet": True}
            )
            errors = response.get("Errors", [])
            if errors:
                first = errors[0]
                raise RuntimeError(
                    f"Could not delete {len(errors)} object(s) under {prefix!r}; first: "
                    f"{first.get('Key')!r}: {first.get('Code')} {first.get('Message')}"
                )
            deleted += len(objects)
        return deleted

    def check(self) -> None:
        self._client.head_bucket(Bucket=self.bucket)

    def apply_bucket_rules(self, allowed_origins: list[str]) -> list[str]:
        """The bucket's lifecycle and CORS, as the deployment wants them (idempotent: both
        are replaced whole). Returns what the server refused to take (an S3-compatible server
        may lack lifecycle or CORS support): the caller says so, the rest still applies.

        - uploads/ expire a day after they land: the API keeps its verified copies (inputs/),
          results and board images never expire; unfinished multipart uploads go after a day;
        - CORS lets the web client's origins POST uploads to presigned forms and GET results.
        """
        refused = []
        try:
            self._client.put_bucket_lifecycle_configuration(
                Bucket=self.bucket, LifecycleConfiguration={"Rules": LIFECYCLE_RULES}
            )
        except ClientError as error:
            refused.append(f"lifecycle: {error.response.get('Error', {}).get('Code', error)}")
        if allowed_origins:
            try:
                self._client.put_bucket_cors(
                    Bucket=self.bucket, CORSConfiguration={"CORSRules": cors_rules(allowed_origins)}
                )
            except ClientError as error:
                refused.append(f"CORS: {error.response.get('Error', {}).get('Code', error)}")
        return refused

    def bucket_rules(self) -> tuple[list[dict], list[dict]]:
        """The lifecycle rules and CORS rules the bucket has now (for checks and tests)."""
        lifecycle = self._client.get_bucket_lifecycle_configuration(Bucket=self.bucket)
        try:
            cors = self._client.get_bucket_cors(Bucket=self.bucket)["CORSRules"]
        except ClientError:
            cors = []
        return lifecycle["Rules"], cors

    def ensure_bucket(self) -> None:
        """Create the bucket if it is missing (development and test set-up)."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as error:
            if not _is_not_found(error):
                raise
        arguments: dict[str, Any] = {"Bucket": self.bucket}
        # us-east-1 is the one region that refuses an explicit location constraint.
        if self.region != "us-east-1":
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self._client.create_bucket(**arguments)
        except ClientError as error:
            # Another process created it between our check and our create.
            if error.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
                raise
