"""Comments: read by anyone, written by registered users, changed by their author."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from saekdam_web.ratelimit import rate_limited

from ..deps import CommentsDep, RegisteredUser
from ..schemas.board import CommentIn, CommentOut, CommentPage

router = APIRouter(prefix="/v1", tags=["board"])
limited = [rate_limited("comments")]


@router.get("/posts/{post_id}/comments")
async def list_comments(
    post_id: str,
    comments: CommentsDep,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> CommentPage:
    """A post's comments, oldest first."""
    return await comments.list_comments(post_id, limit, cursor)


@router.post("/posts/{post_id}/comments", status_code=status.HTTP_201_CREATED, dependencies=limited)
async def add_comment(
    post_id: str, body: CommentIn, user: RegisteredUser, comments: CommentsDep
) -> CommentOut:
    """Comment on a post (1-1,000 characters)."""
    return await comments.create(post_id, user, body.body)


@router.patch("/comments/{comment_id}", dependencies=limited)
async def edit_comment(
    comment_id: str, body: CommentIn, user: RegisteredUser, comments: CommentsDep
) -> CommentOut:
    """Change your comment (author or admin)."""
    return await comments.update(comment_id, user, body.body)


@router.delete(
    "/comments/{comment_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=limited
)
async def delete_comment(comment_id: str, user: RegisteredUser, comments: CommentsDep) -> Response:
    """Delete your comment (author or admin)."""
    await comments.delete(comment_id, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
