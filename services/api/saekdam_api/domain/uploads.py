"""Upload slots: the server picks the key, the client gets a presigned form for it."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from saekdam_backbone.db import lock_for_count, single_statements, utcnow
from saekdam_backbone.storage.base import ObjectInfo, ObjectStorage, UploadForm
from saekdam_backbone.storage.local import LocalStorage
from saekdam_backbone.tasks.models import Task
from saekdam_contracts.keys import post_upload_key, task_upload_key
from saekdam_contracts.status import TaskStatus
from saekdam_web.errors import (
    Conflict,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMedia,
)

from ..db.models import Upload
from ..settings import ApiSettings
from ..uploads.verify import DecodeSlots

ALLOWED_CONTENT_TYPES = ("image/png", "image/jpeg", "image/webp")


class UploadService:
    def __init__(self, sessions: async_sessionmaker, storage: ObjectStorage, settings: ApiSettings):
        self._sessions = sessions
        self._single = single_statements(sessions)
        self._storage = storage
        self._settings = settings
        # Every verification of an upload's pixels (task inputs, post images) takes a slot.
        self.decodes = DecodeSlots(settings.verify_concurrency)

    async def create_for_task(
        self, owner_id: str, task_id: str, role: str, content_type: str, size: int
    ) -> tuple[Upload, UploadForm]:
        """A slot for the owner's task while it is CREATED: 404 for anyone else's task, 409
        once it was submitted or has all its slots. One unlocked read refuses early; the
        insert checks again under the task's lock (`_add`)."""
        query = select(Task.status, _slots(task_id)).where(
            Task.id == task_id, Task.owner_id == owner_id
        )
        async with self._single.connect() as connection:
            found = (await connection.execute(query)).first()
        count = self._check_open(task_id, found)
        self._check_declared(content_type, size)
        self._check_slot_count(count)
        return await self._add(owner_id, task_id, role, content_type, size)

    async def create(
        self, owner_id: str, task_id: str | None, role: str, content_type: str, size: int
    ) -> tuple[Upload, UploadForm]:
        self._check_declared(content_type, size)
        return await self._add(owner_id, task_id, role, content_type, size)

    async def for_task(self, task_id: str) -> list[Upload]:
        query = select(Upload.__table__).where(Upload.task_id == task_id)
        async with self._single.connect() as connection:
            rows = (await connection.execute(query.order_by(Upload.created_at))).mappings()
            return [Upload(**row) for row in rows]

    async def _add(
        self, owner_id: str, task_id: str | None, role: str, content_type: str, size: int
    ) -> tuple[Upload, UploadForm]:
        upload_id = str(uuid.uuid4())
        key = (
            task_upload_key(owner_id, task_id, upload_id)
            if task_id is not None
            else post_upload_key(owner_id, upload_id)
        )
        form = await self._presign(key, content_type, size)
        values = {
            "id": upload_id,
            "owner_id": owner_id,
            "task_id": task_id,
            "role": role,
            "key": key,
            "content_type": content_type,
            "max_bytes": size,
            "expires_at": form.expires_at,
            "created_at": utcnow(),
        }
        if task_id is None:
            async with self._single.connect() as connection:
                await connection.execute(insert(Upload.__table__), values)
                await connection.commit()
            return Upload(**values), form
        # Count and insert under the task's lock: concurrent requests stop exactly at the
        # cap, and none adds a slot to a task a submit has just taken.
        async with self._sessions() as session, session.begin():
            await lock_for_count(session, Task.id, task_id)
            query = select(Task.status, _slots(task_id)).where(Task.id == task_id)
            found = (await session.execute(query)).first()
            self._check_slot_count(self._check_open(task_id, found))
            await session.execute(insert(Upload.__table__), values)
        return Upload(**values), form

    async def _presign(self, key: str, content_type: str, size: int) -> UploadForm:
        expires_s = self._settings.upload_expires_s
        if isinstance(self._storage, LocalStorage):
            # An HMAC over a small document: cheaper than the hop to a thread.
            return self._storage.presign_upload(key, content_type, size, expires_s)
        # S3's signer may fetch credentials (an instance role) over the network.
        return await asyncio.to_thread(
            self._storage.presign_upload, key, content_type, size, expires_s
        )

    async def get_post_upload(self, upload_id: str, owner_id: str) -> Upload | None:
        """The owner's upload made for a post (not for a task), else None."""
        async with self._sessions() as session:
            upload = await session.get(Upload, upload_id)
        if upload is None or upload.owner_id != owner_id or upload.task_id is not None:
            return None
        return upload

    def _check_declared(self, content_type: str, size: int) -> None:
        if content_type not in ALLOWED_CONTENT_TYPES:
            raise UnsupportedMedia(
                "upload_type_unsupported",
                f"content type {content_type!r} is not accepted; use one of "
                + ", ".join(ALLOWED_CONTENT_TYPES),
            )
        if size > self._settings.max_upload_bytes:
            raise PayloadTooLarge(
                "upload_too_large",
                f"{size} bytes is over the limit of {self._settings.max_upload_bytes} bytes",
            )

    @staticmethod
    def _check_open(task_id: str, found) -> int:
        """The slot count of a task still taking uploads. `found`: the task's (status,
        slot count), None if there is no such task."""
        if found is None:
            raise NotFound("task_not_found", f"no task {task_id}")
        status, count = found
        if status != TaskStatus.CREATED:
            raise Conflict(
                "task_already_submitted", f"task {task_id} is {status}; uploads are closed"
            )
        return count

    def _check_slot_count(self, count: int) -> None:
        if count >= self._settings.max_uploads_per_task:
            raise Conflict(
                "too_many_uploads",
                f"a task takes at most {self._settings.max_uploads_per_task} uploads",
            )


def _slots(task_id: str):
    """The task's upload slots, counted (a scalar subquery)."""
    return select(func.count()).where(Upload.task_id == task_id).scalar_subquery()


def is_expired(upload: Upload, now: datetime | None = None) -> bool:
    return (now or datetime.now(UTC)) > upload.expires_at


# Clock skew we tolerate between the store's timestamps and ours.
EXPIRY_SKEW = timedelta(seconds=2)


async def landed(upload: Upload, storage: ObjectStorage) -> ObjectInfo | None:
    """What storage holds for the slot: None if nothing arrived; refused if it arrived late
    or larger than asked for (stores like moto enforce neither)."""
    info = await asyncio.to_thread(storage.head, upload.key)
    if info is None:
        return None
    if info.last_modified is not None and info.last_modified > upload.expires_at + EXPIRY_SKEW:
        raise Unprocessable(
            "upload_expired", f"upload {upload.id} arrived after its upload URL expired"
        )
    if info.size > upload.max_bytes:
        raise PayloadTooLarge(
            "upload_too_large",
            f"upload {upload.id} is {info.size} bytes, over the {upload.max_bytes} bytes asked for",
        )
    return info
