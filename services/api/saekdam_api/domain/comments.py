"""Comments on visible posts. Authors edit and delete their own; admins may too."""

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from saekdam_backbone.db import utcnow
from saekdam_backbone.users import User
from saekdam_web.errors import Forbidden, NotFound
from saekdam_web.paging import after_ascending, decode_cursor, page_of

from ..db.board import Comment, Post
from ..schemas.board import Author, CommentOut, CommentPage
from .posts import PostService


def _out(comment: Comment, username: str) -> CommentOut:
    return CommentOut(
        comment_id=comment.id,
        post_id=comment.post_id,
        author=Author(username=username),
        body=comment.body,
        created_at=comment.created_at,
        updated_at=comment.updated_at,
    )


class CommentService:
    def __init__(self, sessions: async_sessionmaker, posts: PostService):
        self._sessions = sessions
        self._posts = posts

    async def list_comments(self, post_id: str, limit: int, cursor: str | None) -> CommentPage:
        """Oldest first, so a thread reads top to bottom."""
        query = (
            select(Comment, User.username)
            .join(User, User.id == Comment.author_id)
            .where(
                Comment.post_id == post_id,
                Comment.deleted_at.is_(None),
                Comment.hidden_at.is_(None),
            )
        )
        if cursor is not None:
            values = decode_cursor(cursor, datetime, str)
            query = query.where(after_ascending([Comment.created_at, Comment.id], values))
        query = query.order_by(Comment.created_at, Comment.id).limit(limit + 1)
        async with self._sessions() as session:
            await self._posts.visible_post(session, post_id)
            rows = (await session.execute(query)).all()
        page = page_of(rows, limit, lambda r: (r[0].created_at, r[0].id), lambda r: _out(*r))
        return CommentPage(items=page.items, next_cursor=page.next_cursor)

    async def create(self, post_id: str, author: User, body: str) -> CommentOut:
        now = utcnow()
        comment = Comment(
            id=str(uuid.uuid4()),
            post_id=post_id,
            author_id=author.id,
            body=body,
            created_at=now,
            updated_at=now,
        )
        async with self._sessions() as session, session.begin():
            await self._posts.visible_post(session, post_id)
            session.add(comment)
            await adjust_comment_count(session, post_id, +1)
        return _out(comment, author.username)

    async def update(self, comment_id: str, editor: User, body: str) -> CommentOut:
        async with self._sessions() as session, session.begin():
            comment = await self._writable(session, comment_id, editor)
            comment.body = body
            comment.updated_at = utcnow()
            username = await session.scalar(
                select(User.username).where(User.id == comment.author_id)
            )
        return _out(comment, username or "deleted")

    async def delete(self, comment_id: str, editor: User) -> None:
        async with self._sessions() as session, session.begin():
            comment = await self._writable(session, comment_id, editor)
            comment.deleted_at = utcnow()
            if comment.hidden_at is None:
                await adjust_comment_count(session, comment.post_id, -1)

    async def _writable(self, session: AsyncSession, comment_id: str, editor: User) -> Comment:
        comment = await session.get(Comment, comment_id, with_for_update=True)
        if comment is None or comment.deleted_at is not None:
            raise NotFound("comment_not_found", f"no comment {comment_id}")
        if comment.author_id != editor.id and not editor.is_admin:
            raise Forbidden("not_author", "only the author (or an admin) may change this comment")
        await self._posts.visible_post(session, comment.post_id)
        return comment


async def adjust_comment_count(session: AsyncSession, post_id: str, delta: int) -> None:
    await session.execute(
        update(Post).where(Post.id == post_id).values(comment_count=Post.comment_count + delta)
    )
