"""Web Push: browsers that get a notification when my tasks end (guests may subscribe too)."""

from fastapi import APIRouter, Response, status

from saekdam_web.ratelimit import rate_limited

from ..deps import CurrentUser, PushDep
from ..schemas.push import PushKeyOut, PushSubscriptionCreated, PushSubscriptionIn

router = APIRouter(prefix="/v1/push", tags=["push"])
limited = [rate_limited("push")]
UNAVAILABLE = {503: {"description": "Web Push is not set up on this server (`push_unavailable`)"}}


@router.get("/key", responses=UNAVAILABLE)
async def push_key(push: PushDep) -> PushKeyOut:
    """The VAPID public key to subscribe with (`applicationServerKey`)."""
    return PushKeyOut(public_key=push.public_key())


@router.post(
    "/subscriptions",
    status_code=status.HTTP_201_CREATED,
    dependencies=limited,
    responses=UNAVAILABLE,
)
async def subscribe(
    body: PushSubscriptionIn, user: CurrentUser, push: PushDep
) -> PushSubscriptionCreated:
    """Notify this browser when my tasks end; the same endpoint again updates it."""
    return PushSubscriptionCreated(subscription_id=await push.subscribe(user, body))


@router.delete(
    "/subscriptions/{subscription_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=limited,
)
async def unsubscribe(subscription_id: str, user: CurrentUser, push: PushDep) -> Response:
    """Stop notifying a browser."""
    await push.unsubscribe(subscription_id, user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
