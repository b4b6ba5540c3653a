"""The board's posts: share, read, search, edit, delete, like, remix, report."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status

from saekdam_web.ratelimit import caller_identity, rate_limited

from ..deps import (
    CurrentUser,
    LikesDep,
    ModerationDep,
    OptionalUser,
    PostsDep,
    RegisteredUser,
    RemixDep,
    UploadsDep,
)
from ..domain.post_images import ImageRef
from ..domain.posts import Listing
from ..domain.search import MAX_QUERY_CHARS
from ..schemas import UploadOut
from ..schemas.board import (
    LikeOut,
    PostIn,
    PostOut,
    PostPage,
    PostPatch,
    PostUploadIn,
    RemixIn,
    RemixOut,
    ReportIn,
    ReportOut,
)

router = APIRouter(prefix="/v1/posts", tags=["board"])
NOT_FOUND = {404: {"description": "No such post (or deleted, or hidden)"}}


@router.get("")
async def list_posts(
    posts: PostsDep,
    viewer: OptionalUser,
    sort: Literal["recent", "popular"] = "recent",
    q: Annotated[str | None, Query(min_length=1, max_length=MAX_QUERY_CHARS)] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> PostPage:
    """Newest first, or most popular (likes with time decay); `q` searches title and body."""
    return await posts.list_posts(Listing(sort=sort, query=q), viewer, limit, cursor)


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=[rate_limited("posts")])
async def create_post(body: PostIn, user: RegisteredUser, posts: PostsDep) -> PostOut:
    """Share results of your COMPLETED tasks, or images uploaded for the post."""
    refs = [ImageRef(i.task_id, i.upload_id, i.result_index) for i in body.images]
    return await posts.create(user, body.title, body.body, refs)


@router.post(
    "/uploads", status_code=status.HTTP_201_CREATED, dependencies=[rate_limited("uploads")]
)
async def request_post_upload(
    body: PostUploadIn, user: RegisteredUser, uploads: UploadsDep
) -> UploadOut:
    """A presigned form for an image to put in a post (verified by content when posted)."""
    upload, form = await uploads.create(user.id, None, "image", body.content_type, body.size)
    return UploadOut.of(upload, form)


@router.get("/{post_id}", responses=NOT_FOUND)
async def get_post(
    post_id: str, request: Request, posts: PostsDep, viewer: OptionalUser
) -> PostOut:
    """One post with its images (short-lived URLs); counts a view once per viewer a day."""
    return await posts.get(post_id, viewer, caller_identity(request, viewer))


@router.patch("/{post_id}", responses=NOT_FOUND, dependencies=[rate_limited("posts")])
async def edit_post(
    post_id: str, body: PostPatch, user: RegisteredUser, posts: PostsDep
) -> PostOut:
    """Change the title or body (author or admin)."""
    return await posts.update(post_id, user, body.title, body.body)


@router.delete(
    "/{post_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND,
    dependencies=[rate_limited("posts")],
)
async def delete_post(post_id: str, user: RegisteredUser, posts: PostsDep) -> Response:
    """Take the post and its comments off the board (author or admin)."""
    await posts.delete(post_id, user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/{post_id}/like", responses=NOT_FOUND, dependencies=[rate_limited("likes")])
async def like_post(post_id: str, user: RegisteredUser, likes: LikesDep) -> LikeOut:
    """Like (idempotent: once per user)."""
    return await likes.like(post_id, user)


@router.delete("/{post_id}/like", responses=NOT_FOUND, dependencies=[rate_limited("likes")])
async def unlike_post(post_id: str, user: RegisteredUser, likes: LikesDep) -> LikeOut:
    """Take a like back (idempotent)."""
    return await likes.unlike(post_id, user)


@router.post(
    "/{post_id}/remix",
    status_code=status.HTTP_201_CREATED,
    responses=NOT_FOUND,
    dependencies=[rate_limited("tasks")],
)
async def remix_post(
    post_id: str, user: CurrentUser, remix: RemixDep, body: RemixIn | None = None
) -> RemixOut:
    """A new task of yours with the post's settings: upload your own photo, then submit
    with these `params` (or changed ones)."""
    return await remix.remix(post_id, user, (body or RemixIn()).keep_seed)


@router.post(
    "/{post_id}/report",
    status_code=status.HTTP_202_ACCEPTED,
    responses=NOT_FOUND,
    dependencies=[rate_limited("reports")],
)
async def report_post(
    post_id: str, body: ReportIn, user: RegisteredUser, moderation: ModerationDep
) -> ReportOut:
    """Tell the admins about a post."""
    return await moderation.report(post_id, user, body.reason)
