"""Posts: share, read (recent, popular, search), edit, delete. Authors and admins write."""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from saekdam_backbone.db import utcnow
from saekdam_backbone.storage.base import ObjectStorage
from saekdam_backbone.users import User
from saekdam_web.errors import Forbidden, NotFound
from saekdam_web.paging import after_descending, decode_cursor, page_of

from ..db.board import Like, Post, PostImage, PostView
from ..schemas.board import Author, ImageFile, MadeWith, PostImageOut, PostOut, PostPage
from ..settings import ApiSettings
from . import search
from .inserts import insert_ignore
from .post_images import ImageRef, PostImages
from .ranking import hot_score

Sort = Literal["recent", "popular"]


@dataclass(frozen=True)
class Listing:
    sort: Sort = "recent"
    query: str | None = None
    author_id: str | None = None


def visible() -> ColumnElement[bool]:
    return Post.deleted_at.is_(None) & Post.hidden_at.is_(None)


class PostService:
    def __init__(
        self,
        sessions: async_sessionmaker,
        images: PostImages,
        storage: ObjectStorage,
        settings: ApiSettings,
    ):
        self._sessions = sessions
        self._images = images
        self._storage = storage
        self._settings = settings
        self._dialect = sessions.kw["bind"].dialect.name

    async def create(self, author: User, title: str, body: str, refs: list[ImageRef]) -> PostOut:
        post_id = str(uuid.uuid4())
        staged = await self._images.stage(author.id, post_id, refs)
        made_with = next((m for s in staged if (m := s.made_with()) is not None), None)
        source = next((s.task for s in staged if s.task is not None), None)
        now = utcnow()
        post = Post(
            id=post_id,
            author_id=author.id,
            title=title,
            body=body,
            made_with=made_with,
            source_params={"kind": source.kind, "params": source.params} if source else None,
            like_count=0,
            comment_count=0,
            view_count=0,
            hot=hot_score(0, now),
            created_at=now,
            updated_at=now,
        )
        try:
            async with self._sessions() as session, session.begin():
                session.add(post)
                await session.flush()
                session.add_all([s.row for s in staged])
        except BaseException:
            await self._images.discard(post_id)
            raise
        return await self._present(post, [s.row for s in staged], author.username, False)

    async def get(self, post_id: str, viewer: User | None, viewer_key: str) -> PostOut:
        """The post, counting this view once per viewer per day."""
        async with self._sessions() as session, session.begin():
            post = await self._readable(session, post_id, viewer)
            counted = await insert_ignore(
                session,
                PostView,
                {"post_id": post.id, "viewer": viewer_key[:80], "day": datetime.now(UTC).date()},
            )
            if counted:
                post.view_count = await session.scalar(
                    update(Post)
                    .where(Post.id == post.id)
                    .values(view_count=Post.view_count + 1)
                    .returning(Post.view_count)
                )
        return (await self._present_many([post], viewer))[0]

    async def list_posts(
        self, listing: Listing, viewer: User | None, limit: int, cursor: str | None
    ):
        order, rank = self._order(listing)
        query = select(Post, *rank).where(visible())
        if listing.query:
            query = query.where(search.matches(self._dialect, listing.query))
        if listing.author_id:
            query = query.where(Post.author_id == listing.author_id)
        if cursor is not None:
            types = (int,) * len(rank) + (_cursor_type(listing.sort), str)
            query = query.where(after_descending(order, decode_cursor(cursor, *types)))
        query = query.order_by(*(c.desc() for c in order)).limit(limit + 1)
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()

        def cursor_of(row) -> tuple:
            key = row[0].hot if listing.sort == "popular" else row[0].created_at
            return (*row[1:], key, row[0].id)

        page = page_of(rows, limit, cursor_of, lambda row: row[0])
        items = await self._present_many(page.items, viewer)
        return PostPage(items=items, next_cursor=page.next_cursor)

    async def update(
        self, post_id: str, editor: User, title: str | None, body: str | None
    ) -> PostOut:
        async with self._sessions() as session, session.begin():
            post = await self._writable(session, post_id, editor)
            if title is not None:
                post.title = title
            if body is not None:
                post.body = body
            post.updated_at = utcnow()
        return (await self._present_many([post], editor))[0]

    async def delete(self, post_id: str, editor: User) -> None:
        """Soft delete: the post and its comments leave the board; the row stays."""
        async with self._sessions() as session, session.begin():
            post = await self._writable(session, post_id, editor)
            post.deleted_at = utcnow()

    async def visible_post(self, session: AsyncSession, post_id: str) -> Post:
        """A post on the board (not deleted, not hidden), for comments, likes, reports."""
        post = await session.get(Post, post_id)
        if post is None or post.deleted_at is not None or post.hidden_at is not None:
            raise NotFound("post_not_found", f"no post {post_id}")
        return post

    # -- helpers -------------------------------------------------------------------------

    def _order(self, listing: Listing) -> tuple[list, list]:
        """The sort columns (keyset, all descending) and the extra rank columns selected."""
        primary = Post.hot if listing.sort == "popular" else Post.created_at
        if listing.query:
            rank = search.title_rank(self._dialect, listing.query).label("title_rank")
            return [rank, primary, Post.id], [rank]
        return [primary, Post.id], []

    async def _readable(self, session: AsyncSession, post_id: str, viewer: User | None) -> Post:
        post = await session.get(Post, post_id)
        admin = viewer is not None and viewer.is_admin
        if post is None or post.deleted_at is not None or (post.hidden_at and not admin):
            raise NotFound("post_not_found", f"no post {post_id}")
        return post

    async def _writable(self, session: AsyncSession, post_id: str, editor: User) -> Post:
        post = await session.get(Post, post_id, with_for_update=True)
        if post is None or post.deleted_at is not None:
            raise NotFound("post_not_found", f"no post {post_id}")
        if post.author_id != editor.id and not editor.is_admin:
            raise Forbidden("not_author", "only the author (or an admin) may change this post")
        return post

    async def _present_many(self, posts: list[Post], viewer: User | None) -> list[PostOut]:
        if not posts:
            return []
        ids = [p.id for p in posts]
        async with self._sessions() as session:
            images = (
                await session.scalars(
                    select(PostImage)
                    .where(PostImage.post_id.in_(ids))
                    .order_by(PostImage.post_id, PostImage.position)
                )
            ).all()
            authors = dict(
                (
                    await session.execute(
                        select(User.id, User.username).where(
                            User.id.in_({p.author_id for p in posts})
                        )
                    )
                ).all()
            )
            liked: set[str] = set()
            if viewer is not None:
                liked = set(
                    await session.scalars(
                        select(Like.post_id).where(Like.user_id == viewer.id, Like.post_id.in_(ids))
                    )
                )
        by_post: dict[str, list[PostImage]] = {}
        for image in images:
            by_post.setdefault(image.post_id, []).append(image)
        return [
            await self._present(
                p, by_post.get(p.id, []), authors.get(p.author_id, "deleted"), p.id in liked
            )
            for p in posts
        ]

    async def _present(
        self, post: Post, images: list[PostImage], username: str, liked: bool
    ) -> PostOut:
        expires = self._settings.download_expires_s

        def sign() -> list[PostImageOut]:
            return [
                PostImageOut(
                    url=self._storage.download_url(i.key, expires),
                    content_type=i.content_type,
                    width=i.width,
                    height=i.height,
                    thumbnail=ImageFile(
                        url=self._storage.download_url(i.thumbnail_key, expires),
                        content_type="image/webp",
                        width=i.thumbnail_width,
                        height=i.thumbnail_height,
                    ),
                )
                for i in images
            ]

        return PostOut(
            post_id=post.id,
            title=post.title,
            body=post.body,
            author=Author(username=username),
            images=await asyncio.to_thread(sign) if images else [],
            made_with=MadeWith(**post.made_with) if post.made_with else None,
            like_count=post.like_count,
            comment_count=post.comment_count,
            view_count=post.view_count,
            liked_by_me=liked,
            hidden=post.hidden_at is not None,
            created_at=post.created_at,
            updated_at=post.updated_at,
        )


def _cursor_type(sort: Sort) -> type:
    return float if sort == "popular" else datetime


async def count_visible_posts(session: AsyncSession, author_id: str) -> int:
    query = select(func.count()).select_from(Post).where(visible(), Post.author_id == author_id)
    return await session.scalar(query) or 0
