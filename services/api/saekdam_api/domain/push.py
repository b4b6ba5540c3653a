"""Web Push subscriptions of a user: the VAPID public key, subscribe, unsubscribe.

Workers send the notifications (`saekdam_worker.notify.push`); the API only keeps the
subscriptions. One row per endpoint (a browser's push channel): posting an endpoint again
updates its keys, and moves it to whoever posted it last (one browser, one account at a time).
"""

import ipaddress
import uuid

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from saekdam_backbone.db import lock_for_count
from saekdam_backbone.notifications import vapid
from saekdam_backbone.notifications.models import PushSubscription
from saekdam_backbone.notifications.url_guard import (
    Resolver,
    UrlNotAllowed,
    check_shape,
    checked_target,
)
from saekdam_backbone.users import User
from saekdam_web.errors import ApiError, Conflict, NotFound, Unprocessable

from ..schemas.push import PushSubscriptionIn
from ..settings import ApiSettings

P256_POINT_BYTES = 65
AUTH_SECRET_BYTES = 16


class PushUnavailable(ApiError):
    status_code = 503


def checked_p256dh(text: str) -> str:
    """The browser's ECDH public key: a 65-byte uncompressed point on P-256."""
    try:
        raw = vapid.b64url_decode(text)
    except ValueError:
        raw = b""
    if len(raw) != P256_POINT_BYTES or raw[0] != 0x04:
        raise Unprocessable(
            "push_p256dh_invalid",
            f"keys.p256dh has to be base64url of a {P256_POINT_BYTES}-byte uncompressed "
            f"P-256 point but decodes to {len(raw)} bytes",
        )
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError as exc:
        raise Unprocessable("push_p256dh_invalid", "keys.p256dh is not a point on P-256") from exc
    return text


def checked_auth(text: str) -> str:
    try:
        raw = vapid.b64url_decode(text)
    except ValueError:
        raw = b""
    if len(raw) != AUTH_SECRET_BYTES:
        raise Unprocessable(
            "push_auth_invalid",
            f"keys.auth has to be base64url of {AUTH_SECRET_BYTES} bytes "
            f"but decodes to {len(raw)} bytes",
        )
    return text


def _is_loopback_name(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class PushService:
    def __init__(
        self, sessions: async_sessionmaker, settings: ApiSettings, resolver: Resolver | None = None
    ):
        """`resolver` replaces DNS (tests). A malformed VAPID key stops the API here."""
        self._sessions = sessions
        self._settings = settings
        self.resolver = resolver
        private_key = vapid.configured_key(settings.vapid_private_key)
        self._public_key = vapid.public_key(private_key) if private_key else None

    def public_key(self) -> str:
        if self._public_key is None:
            raise PushUnavailable(
                "push_unavailable",
                "Web Push is not set up on this server (the operator has to set "
                "VAPID_PRIVATE_KEY); task updates still come over the websocket and webhooks",
            )
        return self._public_key

    async def subscribe(self, owner: User, body: PushSubscriptionIn) -> str:
        """The subscription's id; the same id when this endpoint was subscribed before."""
        self.public_key()
        await self._check_endpoint(body.endpoint)
        p256dh, auth = checked_p256dh(body.keys.p256dh), checked_auth(body.keys.auth)
        try:
            return await self._upsert(owner, body.endpoint, p256dh, auth)
        except IntegrityError:
            # The same endpoint went in concurrently: now it is there to update.
            return await self._upsert(owner, body.endpoint, p256dh, auth)

    async def unsubscribe(self, subscription_id: str, owner_id: str) -> None:
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                delete(PushSubscription).where(
                    PushSubscription.id == subscription_id, PushSubscription.owner_id == owner_id
                )
            )
            if result.rowcount != 1:
                raise NotFound("push_subscription_not_found", f"no subscription {subscription_id}")

    async def _check_endpoint(self, endpoint: str) -> None:
        allow_http = self._settings.push_allow_http
        try:
            scheme, host, _port = check_shape(endpoint)
            if scheme != "https" and not (allow_http and _is_loopback_name(host)):
                raise UrlNotAllowed(f"the endpoint has to be an https URL but is {scheme}")
            await checked_target(endpoint, allow_loopback=allow_http, resolver=self.resolver)
        except UrlNotAllowed as exc:
            raise Unprocessable("push_endpoint_invalid", str(exc)) from exc

    async def _upsert(self, owner: User, endpoint: str, p256dh: str, auth: str) -> str:
        async with self._sessions() as session, session.begin():
            # Locked on the owner: concurrent subscriptions count one after another.
            await lock_for_count(session, User.id, owner.id)
            existing = await session.scalar(
                select(PushSubscription)
                .where(PushSubscription.endpoint == endpoint)
                .with_for_update()
            )
            if existing is None or existing.owner_id != owner.id:
                await self._check_room(session, owner.id)
            if existing is not None:
                existing.owner_id, existing.p256dh, existing.auth = owner.id, p256dh, auth
                return existing.id
            subscription = PushSubscription(
                id=str(uuid.uuid4()), owner_id=owner.id, endpoint=endpoint, p256dh=p256dh, auth=auth
            )
            session.add(subscription)
        return subscription.id

    async def _check_room(self, session: AsyncSession, owner_id: str) -> None:
        cap = self._settings.max_push_subscriptions_per_user
        count = await session.scalar(
            select(func.count()).where(PushSubscription.owner_id == owner_id)
        )
        if count >= cap:
            raise Conflict(
                "too_many_push_subscriptions",
                f"at most {cap} push subscriptions each; delete one you no longer use",
            )
