"""Public profiles, and deleting an account with everything it owns.

Deletion removes the user's rows (tasks, uploads, posts with their images, comments, likes,
views, reports, and the posture history other services keep in the same database) and
every stored object under the user's keys, then the user, so its tokens stop working.
Counts on other people's posts (likes, comments) are moved back first.
"""

import asyncio
import logging

from sqlalchemy import column, delete, func, inspect, select, table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from saekdam_backbone.db import lock_for_count
from saekdam_backbone.storage.base import ObjectStorage
from saekdam_backbone.tasks.models import Task
from saekdam_backbone.users import User
from saekdam_contracts.keys import (
    post_prefix,
    task_input_prefix,
    task_results_prefix,
    user_upload_prefix,
)
from saekdam_web.errors import NotFound

from ..db.board import Comment, Like, Post
from ..db.models import Upload
from ..schemas.board import ProfileOut
from .comments import adjust_comment_count
from .likes import adjust_likes
from .posts import count_visible_posts
from .tasks import TaskService

log = logging.getLogger(__name__)

# Tables other services keep per user in the shared database (column `user_id`).
OTHER_SERVICES_USER_TABLES = ("posture_sessions", "posture_calibrations")


class AccountService:
    def __init__(self, sessions: async_sessionmaker, tasks: TaskService, storage: ObjectStorage):
        self._sessions = sessions
        self._tasks = tasks
        self._storage = storage

    async def profile(self, username: str) -> ProfileOut:
        async with self._sessions() as session:
            user = await session.scalar(select(User).where(User.username == username))
            if user is None or user.disabled_at is not None:
                raise NotFound("user_not_found", f"no user {username!r}")
            posts = await count_visible_posts(session, user.id)
        return ProfileOut(username=user.username, joined=user.created_at, post_count=posts)

    async def delete(self, user: User) -> None:
        task_ids = await self._stop_tasks(user.id)
        async with self._sessions() as session, session.begin():
            # The user's row first, as a submit or an upload takes it (lock_for_count): the
            # same order everywhere, so a deletion racing a submit waits instead of deadlocking.
            await lock_for_count(session, User.id, user.id)
            post_ids = list(await session.scalars(select(Post.id).where(Post.author_id == user.id)))
            await self._give_back_counts(session, user.id)
            await session.execute(delete(Task).where(Task.owner_id == user.id))
            await session.execute(delete(Upload).where(Upload.owner_id == user.id))
            await _delete_other_services_rows(session, user.id)
            # Posts, images, comments, likes, views and reports go with the user (ON DELETE
            # CASCADE); SQLite enforces it too (PRAGMA foreign_keys=ON in backbone.db).
            await session.execute(delete(User).where(User.id == user.id))
        prefixes = [user_upload_prefix(user.id)]
        prefixes += [p for t in task_ids for p in (task_input_prefix(t), task_results_prefix(t))]
        prefixes += [post_prefix(p) for p in post_ids]
        await asyncio.to_thread(self._delete_prefixes, prefixes)
        log.info("account deleted", extra={"outcome": f"{len(prefixes)} prefixes"})

    async def _stop_tasks(self, user_id: str) -> list[str]:
        """Cancel what is still running (its worker stops at its next fenced write)."""
        async with self._sessions() as session:
            rows = (
                await session.execute(select(Task.id, Task.status).where(Task.owner_id == user_id))
            ).all()
        for task_id, status in rows:
            if status in ("QUEUED", "INPROGRESS"):
                await self._tasks.cancel(task_id, user_id)
        return [task_id for task_id, _ in rows]

    @staticmethod
    async def _give_back_counts(session: AsyncSession, user_id: str) -> None:
        liked = await session.scalars(select(Like.post_id).where(Like.user_id == user_id))
        for post_id in list(liked):
            await adjust_likes(session, post_id, -1)
        commented = await session.execute(
            select(Comment.post_id, func.count())
            .where(
                Comment.author_id == user_id,
                Comment.deleted_at.is_(None),
                Comment.hidden_at.is_(None),
            )
            .group_by(Comment.post_id)
        )
        for post_id, count in commented.all():
            await adjust_comment_count(session, post_id, -count)

    def _delete_prefixes(self, prefixes: list[str]) -> None:
        for prefix in prefixes:
            self._storage.delete_prefix(prefix)


async def _delete_other_services_rows(session: AsyncSession, user_id: str) -> None:
    connection = await session.connection()
    present = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    for name in OTHER_SERVICES_USER_TABLES:
        if name in present:
            owned = table(name, column("user_id"))
            await session.execute(delete(owned).where(owned.c.user_id == user_id))
