"""Admins: open reports, hide and unhide posts and comments."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from saekdam_web.ratelimit import rate_limited

from ..deps import AdminUser, ModerationDep

router = APIRouter(prefix="/v1/admin", tags=["moderation"])
limited = [rate_limited("moderation")]
DONE = status.HTTP_204_NO_CONTENT


@router.get("/reports")
async def open_reports(
    _admin: AdminUser,
    moderation: ModerationDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict:
    """Reports not yet acted on, oldest first."""
    return {"items": await moderation.open_reports(limit)}


@router.put("/posts/{post_id}/hidden", status_code=DONE, dependencies=limited)
async def hide_post(post_id: str, _admin: AdminUser, moderation: ModerationDep) -> Response:
    """Hide a post from lists, search and its page (resolves its reports)."""
    await moderation.set_post_hidden(post_id, True)
    return Response(status_code=DONE)


@router.delete("/posts/{post_id}/hidden", status_code=DONE, dependencies=limited)
async def unhide_post(post_id: str, _admin: AdminUser, moderation: ModerationDep) -> Response:
    """Show a hidden post again."""
    await moderation.set_post_hidden(post_id, False)
    return Response(status_code=DONE)


@router.put("/comments/{comment_id}/hidden", status_code=DONE, dependencies=limited)
async def hide_comment(comment_id: str, _admin: AdminUser, moderation: ModerationDep) -> Response:
    """Hide a comment."""
    await moderation.set_comment_hidden(comment_id, True)
    return Response(status_code=DONE)


@router.delete("/comments/{comment_id}/hidden", status_code=DONE, dependencies=limited)
async def unhide_comment(comment_id: str, _admin: AdminUser, moderation: ModerationDep) -> Response:
    """Show a hidden comment again."""
    await moderation.set_comment_hidden(comment_id, False)
    return Response(status_code=DONE)
