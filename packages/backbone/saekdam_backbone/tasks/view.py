"""A task row as clients see it: storage keys swapped for short-lived download URLs."""

import asyncio

from saekdam_contracts.events import PublicResult, ResultItem
from saekdam_contracts.tasks import TaskView

from ..storage.base import ObjectStorage
from .models import Task
from .store import task_event


async def public_results(
    results: list[dict] | list[ResultItem] | None, storage: ObjectStorage, expires_s: int
) -> list[PublicResult] | None:
    if results is None:
        return None
    items = [ResultItem.model_validate(r) for r in results]
    urls = await asyncio.to_thread(lambda: [storage.download_url(i.key, expires_s) for i in items])
    return [
        PublicResult(url=url, **i.model_dump(exclude={"key"}))
        for i, url in zip(items, urls, strict=True)
    ]


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
