"""Webhooks: endpoints called when my tasks start and end (guests may register too)."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from saekdam_web.ratelimit import rate_limited

from ..deps import CurrentUser, WebhooksDep
from ..schemas.webhooks import DeliveryPage, WebhookCreated, WebhookIn, WebhookList

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
limited = [rate_limited("webhooks")]


@router.post("", status_code=status.HTTP_201_CREATED, dependencies=limited)
async def create_webhook(
    body: WebhookIn, user: CurrentUser, webhooks: WebhooksDep
) -> WebhookCreated:
    """Register an endpoint for some task events; the signing secret is shown only here."""
    return await webhooks.create(user, body.url, body.events)


@router.get("")
async def list_webhooks(user: CurrentUser, webhooks: WebhooksDep) -> WebhookList:
    """My endpoints, newest first, without their secrets."""
    return WebhookList(items=await webhooks.list_owned(user.id))


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=limited)
async def delete_webhook(webhook_id: str, user: CurrentUser, webhooks: WebhooksDep) -> Response:
    """Stop calling an endpoint; its pending deliveries are dropped."""
    await webhooks.delete(webhook_id, user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries")
async def list_deliveries(
    webhook_id: str,
    user: CurrentUser,
    webhooks: WebhooksDep,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> DeliveryPage:
    """The endpoint's delivery log, newest first: status, attempts, last answer."""
    return await webhooks.deliveries(webhook_id, user.id, limit, cursor)
