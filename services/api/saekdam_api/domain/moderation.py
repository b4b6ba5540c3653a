"""Reports from anyone registered; hiding and unhiding by admins. Hidden content leaves
lists and search at once (the board reads only visible rows)."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from saekdam_backbone.db import utcnow
from saekdam_backbone.users import User
from saekdam_web.errors import NotFound

from ..db.board import Comment, Post, Report
from ..schemas.board import ReportOut
from .comments import adjust_comment_count
from .posts import PostService


class ModerationService:
    def __init__(self, sessions: async_sessionmaker, posts: PostService):
        self._sessions = sessions
        self._posts = posts

    async def report(self, post_id: str, reporter: User, reason: str) -> ReportOut:
        report = Report(
            id=str(uuid.uuid4()), post_id=post_id, reporter_id=reporter.id, reason=reason
        )
        async with self._sessions() as session, session.begin():
            await self._posts.visible_post(session, post_id)
            session.add(report)
        return ReportOut(report_id=report.id, post_id=post_id)

    async def open_reports(self, limit: int) -> list[dict]:
        query = (
            select(Report, Post.title)
            .join(Post, Post.id == Report.post_id)
            .where(Report.resolved_at.is_(None))
            .order_by(Report.created_at)
            .limit(limit)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [
            {
                "report_id": r.id,
                "post_id": r.post_id,
                "post_title": title,
                "reason": r.reason,
                "created_at": r.created_at,
            }
            for r, title in rows
        ]

    async def set_post_hidden(self, post_id: str, hidden: bool) -> None:
        async with self._sessions() as session, session.begin():
            post = await session.get(Post, post_id, with_for_update=True)
            if post is None or post.deleted_at is not None:
                raise NotFound("post_not_found", f"no post {post_id}")
            post.hidden_at = (post.hidden_at or utcnow()) if hidden else None
            if hidden:
                reports = await session.scalars(
                    select(Report).where(Report.post_id == post_id, Report.resolved_at.is_(None))
                )
                for report in reports:
                    report.resolved_at = utcnow()

    async def set_comment_hidden(self, comment_id: str, hidden: bool) -> None:
        async with self._sessions() as session, session.begin():
            comment = await session.get(Comment, comment_id, with_for_update=True)
            if comment is None or comment.deleted_at is not None:
                raise NotFound("comment_not_found", f"no comment {comment_id}")
            was_hidden = comment.hidden_at is not None
            if was_hidden == hidden:
                return
            comment.hidden_at = utcnow() if hidden else None
            await adjust_comment_count(session, comment.post_id, -1 if hidden else +1)
