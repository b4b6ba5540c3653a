"""Object storage: the interface, and the backend the settings choose."""

from pathlib import Path

from saekdam_backbone.settings import BackboneSettings
from saekdam_backbone.storage.base import ObjectInfo, ObjectNotFound, ObjectStorage, UploadForm

__all__ = [
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStorage",
    "UploadForm",
    "build_storage",
]


def build_storage(settings: BackboneSettings) -> ObjectStorage:
    # Backends are imported here so that a process using one never imports the other
    # (boto3 alone takes a noticeable part of start-up).
    if settings.storage_backend == "local":
        from saekdam_backbone.storage.local import LocalStorage

        secret = settings.storage_signing_secret
        if secret is None or not secret.get_secret_value():
            raise ValueError(
                "STORAGE_SIGNING_SECRET must be set when STORAGE_BACKEND=local: "
                "it signs the upload forms and download links the API serves."
            )
        return LocalStorage(
            Path(settings.storage_local_root),
            secret.get_secret_value().encode(),
            settings.public_base_url,
        )
    if settings.storage_backend == "s3":
        from saekdam_backbone.storage.s3 import S3Storage

        return S3Storage(
            bucket=settings.s3_bucket,
            region=settings.s3_region,
            endpoint_url=settings.s3_endpoint_url,
            public_endpoint_url=settings.s3_public_endpoint_url,
        )
    raise ValueError(f"Unknown storage backend {settings.storage_backend!r}.")
