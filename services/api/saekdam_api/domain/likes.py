"""Likes: one per user per post (the primary key), counted exactly under concurrency.

The count moves only when a row really went in or out, and by an in-place increment, so
50 people liking at once give 50 and one person liking 20 times at once gives 1.
"""

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from saekdam_backbone.users import User

from ..db.board import Like, Post
from ..schemas.board import LikeOut
from .inserts import insert_ignore
from .posts import PostService
from .ranking import hot_score


class LikeService:
    def __init__(self, sessions: async_sessionmaker, posts: PostService):
        self._sessions = sessions
        self._posts = posts

    async def like(self, post_id: str, user: User) -> LikeOut:
        async with self._sessions() as session, session.begin():
            post = await self._posts.visible_post(session, post_id)
            added = await insert_ignore(session, Like, {"post_id": post.id, "user_id": user.id})
            count = (
                await adjust_likes(session, post.id, +1) if added else await _count(session, post)
            )
        return LikeOut(post_id=post_id, liked=True, like_count=count)

    async def unlike(self, post_id: str, user: User) -> LikeOut:
        async with self._sessions() as session, session.begin():
            post = await self._posts.visible_post(session, post_id)
            removed = await session.execute(
                delete(Like).where(Like.post_id == post.id, Like.user_id == user.id)
            )
            count = (
                await adjust_likes(session, post.id, -1)
                if removed.rowcount
                else await _count(session, post)
            )
        return LikeOut(post_id=post_id, liked=False, like_count=count)


async def _count(session, post: Post) -> int:
    """The committed count (the post row read earlier may predate a concurrent like)."""
    await session.refresh(post, ["like_count"])
    return post.like_count


async def adjust_likes(session, post_id: str, delta: int) -> int:
    """Move the count by `delta` in place, then re-rank the post on the new count (the row
    stays locked by the first UPDATE until commit, so the two agree)."""
    row = (
        await session.execute(
            update(Post)
            .where(Post.id == post_id)
            .values(like_count=Post.like_count + delta)
            .returning(Post.like_count, Post.created_at)
        )
    ).one()
    await session.execute(
        update(Post).where(Post.id == post_id).values(hot=hot_score(row.like_count, row.created_at))
    )
    return row.like_count
