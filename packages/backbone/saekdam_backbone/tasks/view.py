"""A task row as clients see it: storage keys swapped for short-lived download URLs."""

import asyncio
from collections.abc import Callable

from saekdam_contracts.events import PublicRendition, PublicResult, ResultItem, StoredRendition
from saekdam_contracts.tasks import TaskView

from ..storage.base import ObjectStorage
from .models import Task
from .store import task_event


async def public_results(
    results: list[dict] | list[ResultItem] | None, storage: ObjectStorage, expires_s: int
) -> list[PublicResult] | None:
    """Each result with its original, display and thumbnail keys signed (a result stored
    before renditions existed keeps `display` and `thumbnail` null)."""
    if results is None:
        return None
    items = [ResultItem.model_validate(r) for r in results]

    def sign(key: str) -> str:
        return storage.download_url(key, expires_s)

    return await asyncio.to_thread(lambda: [_public(item, sign) for item in items])


def _public(item: ResultItem, sign: Callable[[str], str]) -> PublicResult:
    return PublicResult(
        url=sign(item.key),
        **item.model_dump(exclude={"key", "display", "thumbnail"}),
        display=_public_rendition(item.display, sign),
        thumbnail=_public_rendition(item.thumbnail, sign),
    )


def _public_rendition(
    rendition: StoredRendition | None, sign: Callable[[str], str]
) -> PublicRendition | None:
    if rendition is None:
        return None
    return PublicRendition(url=sign(rendition.key), **rendition.model_dump(exclude={"key"}))


async def task_view(task: Task, storage: ObjectStorage, expires_s: int) -> TaskView:
    event = task_event(task, "snapshot")
    return TaskView(
        **event.model_dump(exclude={"type", "task_id", "results"}),
        task_id=task.id,
        kind=task.kind,
        params=task.params,
        results=await public_results(event.results, storage, expires_s),
        created_at=task.created_at,
        submitted_at=task.submitted_at,
        started_at=task.started_at,
        finished_at=task.finished_at,
    )
