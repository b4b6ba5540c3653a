"""Remix: a new task of the caller's with a post's kind and settings, waiting for the
caller's own photo. Nobody else's wall comes along: the wall region starts again from
`auto` (a box or points drawn on another photo mean nothing on yours), and the seed only
with `keep_seed`."""

from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from saekdam_backbone.tasks.store import TaskStore
from saekdam_backbone.users import User
from saekdam_web.errors import Conflict

from ..schemas.board import RemixOut
from ..settings import ApiSettings
from .posts import PostService


def remix_params(kind: str, params: dict[str, Any], keep_seed: bool) -> dict[str, Any]:
    remixed = dict(params)
    if not keep_seed:
        remixed.pop("seed", None)
    if kind == "mural":
        remixed["region"] = {"mode": "auto"}
    return remixed


class RemixService:
    def __init__(
        self,
        sessions: async_sessionmaker,
        posts: PostService,
        store: TaskStore,
        settings: ApiSettings,
    ):
        self._sessions = sessions
        self._posts = posts
        self._store = store
        self._settings = settings

    async def remix(self, post_id: str, caller: User, keep_seed: bool) -> RemixOut:
        async with self._sessions() as session:
            post = await self._posts.visible_post(session, post_id)
        source = post.source_params
        if not source or not source.get("kind"):
            raise Conflict(
                "post_not_remixable", "this post shares no task's settings (only uploads)"
            )
        kind = source["kind"]
        params = remix_params(kind, source.get("params") or {}, keep_seed)
        task = await self._store.create(
            caller.id, max_attempts=self._settings.max_attempts, kind=kind, params=params
        )
        return RemixOut(task_id=task.id, status=task.status, kind=kind, params=params)
