"""`python -m saekdam_backbone.storage.setup`: the S3 bucket as a deployment wants it.

Creates the bucket when missing, then sets its lifecycle (uploads/ expire after a day) and its
CORS (the web client's ALLOWED_ORIGINS), waiting for the S3 server to come up. Compose runs it
as the one-shot `s3-init` service; on k8s run it once per bucket (infra/README.md). Idempotent.
"""

import json
import os
import sys
import time

from saekdam_backbone.settings import BackboneSettings
from saekdam_backbone.storage import build_storage


def allowed_origins() -> list[str]:
    """ALLOWED_ORIGINS as the API reads it: a JSON list (empty: no CORS rule)."""
    raw = os.environ.get("ALLOWED_ORIGINS", "").strip()
    if not raw:
        return []
    try:
        origins = json.loads(raw)
    except ValueError:
        origins = None
    if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
        raise SystemExit("ALLOWED_ORIGINS has to be a JSON list of origins")
    return origins


def main(attempts: int = 30, wait_s: float = 2.0) -> int:
    settings = BackboneSettings()
    if settings.storage_backend != "s3":
        print("storage setup: STORAGE_BACKEND is not s3; nothing to do")
        return 0
    storage = build_storage(settings)
    origins = allowed_origins()
    for _ in range(attempts):
        try:
            storage.ensure_bucket()
            break
        except Exception as error:  # noqa: BLE001 - the server may still be starting
            print(f"storage setup: S3 not ready ({error}); retrying", flush=True)
            time.sleep(wait_s)
    else:
        print("storage setup: could not reach S3 to create the bucket", file=sys.stderr)
        return 1
    for refused in storage.apply_bucket_rules(origins):
        print(f"storage setup: the S3 server refused the bucket's {refused}", file=sys.stderr)
    print(f"storage setup: bucket {storage.bucket!r} ready (CORS for {origins})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
