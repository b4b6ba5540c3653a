"""Submit-time verification of a task's uploads against what its job kind needs.

Nothing is trusted from the client: the object must exist, have arrived before its slot
expired, be within its size, and decode as an allowed image within the kind's limits. The
verified bytes are copied to a key only the server writes, and that copy is what runs.
"""

import asyncio
from collections import Counter

from saekdam_backbone.storage.base import ObjectStorage
from saekdam_contracts.jobs import MAX_IMAGE_PIXELS, JobSpec, UploadCounts, UploadRole
from saekdam_contracts.keys import task_input_key
from saekdam_web.errors import Unprocessable

from ..db.models import Upload
from ..uploads.verify import DecodeSlots, verify_image
from .uploads import is_expired, landed


async def verify_task_inputs(
    spec: JobSpec,
    needs: UploadCounts,
    uploads: list[Upload],
    storage: ObjectStorage,
    decodes: DecodeSlots,
) -> list[dict]:
    """Return the job's input list, or raise the precise 4xx for the first problem. Each
    image is decoded in one of `decodes`' slots."""
    present: list[dict] = []
    absent: dict[str, list[Upload]] = {}
    for upload in uploads:
        if upload.role not in needs:
            raise Unprocessable(
                "upload_role_unexpected",
                f"a {spec.kind} job takes no {upload.role!r} upload (upload {upload.id})",
            )
        verified = await _verify_one(spec, upload, storage, decodes)
        if verified is None:
            absent.setdefault(upload.role, []).append(upload)
        else:
            present.append(verified)

    counts = Counter(item["role"] for item in present)
    for role, (least, most) in needs.items():
        have = counts.get(role, 0)
        if have > most:
            raise Unprocessable(
                "too_many_uploads", f"a {spec.kind} job takes at most {most} {role!r} uploads"
            )
        if have < least:
            missing = absent.get(role, [])
            if missing and all(is_expired(u) for u in missing):
                raise Unprocessable(
                    "upload_expired",
                    f"upload {missing[-1].id} expired before the file arrived; ask for a new one",
                )
            if missing:
                raise Unprocessable(
                    "upload_missing", f"upload {missing[-1].id} has not been uploaded yet"
                )
            raise Unprocessable(
                "upload_required", f"a {spec.kind} job needs at least {least} {role!r} upload(s)"
            )
    _check_mask_matches_image(present)
    return present


def _check_mask_matches_image(inputs: list[dict]) -> None:
    images = [i for i in inputs if i["role"] == UploadRole.IMAGE]
    for mask in (i for i in inputs if i["role"] == UploadRole.MASK):
        photo = images[0] if images else None
        if photo is not None and (mask["width"], mask["height"]) != (
            photo["width"],
            photo["height"],
        ):
            raise Unprocessable(
                "mask_size_mismatch",
                f"the mask is {mask['width']}x{mask['height']} but the photo is "
                f"{photo['width']}x{photo['height']}; draw the mask at the photo's size",
            )


async def _verify_one(
    spec: JobSpec, upload: Upload, storage: ObjectStorage, decodes: DecodeSlots
) -> dict | None:
    if await landed(upload, storage) is None:
        return None
    data = await asyncio.to_thread(storage.read, upload.key, upload.max_bytes)
    image = await decodes.run(
        verify_image,
        data,
        declared_content_type=upload.content_type,
        max_pixels=MAX_IMAGE_PIXELS,
        min_side=spec.limits.min_side,
        max_side=spec.limits.max_side,
    )
    input_key = task_input_key(upload.task_id, upload.id)
    await asyncio.to_thread(storage.write, input_key, data, image.content_type)
    return {
        "upload_id": upload.id,
        "role": upload.role,
        "key": input_key,
        "content_type": image.content_type,
        "width": image.width,
        "height": image.height,
    }
