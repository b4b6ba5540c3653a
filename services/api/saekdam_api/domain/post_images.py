"""A post's images: taken from the author's COMPLETED task or a post upload, verified,
copied to the post's own keys, with a thumbnail. Storage work runs off the event loop."""

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from saekdam_backbone.imaging import thumbnail
from saekdam_backbone.storage.base import ObjectStorage
from saekdam_backbone.tasks.models import Task
from saekdam_backbone.tasks.store import TaskStore
from saekdam_contracts.events import ResultItem
from saekdam_contracts.jobs import MAX_IMAGE_PIXELS
from saekdam_contracts.keys import post_image_key, post_prefix
from saekdam_contracts.status import TaskStatus
from saekdam_web.errors import Conflict, NotFound, Unprocessable

from ..db.board import PostImage
from ..db.models import Upload
from ..settings import ApiSettings
from ..uploads.verify import verify_image
from .uploads import UploadService, landed

# What a board image may be: anything a phone shows (the same checks as task uploads).
BOARD_MIN_SIDE = 16
BOARD_MAX_SIDE = 16384
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


@dataclass(frozen=True)
class ImageRef:
    task_id: str | None = None
    upload_id: str | None = None
    result_index: int = 0


@dataclass
class StagedImage:
    """An image copied to the post's keys, not yet in the database."""

    row: PostImage
    task: Task | None

    def made_with(self) -> dict[str, Any] | None:
        if self.task is None:
            return None
        params = self.task.params or {}
        results = self.task.results or []
        seed = params.get("seed")
        if seed is None and results:
            seed = results[0].get("seed")
        shown = {
            "kind": self.task.kind,
            "theme": params.get("theme"),
            "style": params.get("style"),
            "prompt": params.get("prompt"),
            "seed": seed,
        }
        return {k: v for k, v in shown.items() if v is not None}


class PostImages:
    def __init__(
        self,
        store: TaskStore,
        uploads: UploadService,
        storage: ObjectStorage,
        settings: ApiSettings,
    ):
        self._store = store
        self._uploads = uploads
        self._storage = storage
        self._settings = settings

    async def stage(self, author_id: str, post_id: str, refs: list[ImageRef]) -> list[StagedImage]:
        """Check every reference first (nothing is copied for a post that will be refused),
        then copy each to the post's keys with its thumbnail."""
        sources = [await self._source(author_id, ref) for ref in refs]
        seen: set[tuple] = set()
        for ref in refs:
            identity = (ref.task_id, ref.upload_id, ref.result_index)
            if identity in seen:
                raise Unprocessable("duplicate_image", "the same image is listed twice")
            seen.add(identity)
        staged = []
        try:
            for position, (key, content_type, task) in enumerate(sources):
                staged.append(await self._copy(post_id, position, key, content_type, task))
        except BaseException:
            await self.discard(post_id)
            raise
        return staged

    async def discard(self, post_id: str) -> None:
        await asyncio.to_thread(self._storage.delete_prefix, post_prefix(post_id))

    async def _source(self, author_id: str, ref: ImageRef) -> tuple[str, str, Task | None]:
        if ref.task_id is not None:
            return await self._task_result(author_id, ref)
        assert ref.upload_id is not None
        return await self._post_upload(author_id, ref.upload_id)

    async def _task_result(self, author_id: str, ref: ImageRef) -> tuple[str, str, Task]:
        task = await self._store.get_owned(ref.task_id, author_id)
        if task is None:
            # Someone else's task looks exactly like one that does not exist.
            raise NotFound("task_not_found", f"no task {ref.task_id}")
        if task.status != TaskStatus.COMPLETED:
            raise Conflict(
                "task_not_completed",
                f"task {task.id} is {task.status}; only a COMPLETED task's result can be shared",
            )
        results = [ResultItem.model_validate(r) for r in task.results or []]
        images = [r for r in results if r.content_type.startswith("image/")]
        if ref.result_index >= len(images):
            raise Unprocessable(
                "result_not_found",
                f"task {task.id} has {len(images)} image result(s); "
                f"result_index {ref.result_index} is out of range",
            )
        return images[ref.result_index].key, images[ref.result_index].content_type, task

    async def _post_upload(self, author_id: str, upload_id: str) -> tuple[str, str, None]:
        upload = await self._uploads.get_post_upload(upload_id, author_id)
        if upload is None:
            raise NotFound("upload_not_found", f"no post upload {upload_id}")
        await self._verify_upload(upload)
        return upload.key, upload.content_type, None

    async def _verify_upload(self, upload: Upload) -> None:
        if await landed(upload, self._storage) is None:
            raise Unprocessable("upload_missing", f"upload {upload.id} has not been uploaded yet")

    async def _copy(
        self, post_id: str, position: int, key: str, content_type: str, task: Task | None
    ) -> StagedImage:
        data = await asyncio.to_thread(self._storage.read, key, self._settings.max_upload_bytes)
        # Both decode the whole image: each takes one of the process's decode slots.
        image = await self._uploads.decodes.run(
            verify_image,
            data,
            declared_content_type=content_type,
            max_pixels=MAX_IMAGE_PIXELS,
            min_side=BOARD_MIN_SIDE,
            max_side=BOARD_MAX_SIDE,
        )
        thumb = await self._uploads.decodes.run(thumbnail, data, self._settings.thumbnail_side)
        image_id = str(uuid.uuid4())
        original_key = post_image_key(
            post_id, image_id, f"original.{_EXTENSIONS[image.content_type]}"
        )
        thumbnail_key = post_image_key(post_id, image_id, "thumbnail.webp")
        await asyncio.to_thread(self._storage.write, original_key, data, image.content_type)
        await asyncio.to_thread(self._storage.write, thumbnail_key, thumb.data, thumb.content_type)
        row = PostImage(
            id=image_id,
            post_id=post_id,
            position=position,
            key=original_key,
            content_type=image.content_type,
            width=image.width,
            height=image.height,
            thumbnail_key=thumbnail_key,
            thumbnail_width=thumb.width,
            thumbnail_height=thumb.height,
            source_task_id=task.id if task is not None else None,
        )
        return StagedImage(row, task)
