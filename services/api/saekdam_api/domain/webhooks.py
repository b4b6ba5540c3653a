"""Webhook endpoints of a user: register (URL checked against the SSRF guard), list,
delete, and the delivery log. Workers deliver; the API only keeps the endpoints."""

import base64
import secrets
import uuid
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from saekdam_backbone.db import lock_for_count
from saekdam_backbone.notifications.models import WebhookDelivery, WebhookEndpoint
from saekdam_backbone.notifications.url_guard import Resolver, UrlNotAllowed, checked_target
from saekdam_backbone.users import User
from saekdam_web.errors import Conflict, NotFound, Unprocessable
from saekdam_web.paging import after_descending, decode_cursor, page_of

from ..schemas.webhooks import DeliveryOut, DeliveryPage, WebhookCreated, WebhookOut
from ..settings import ApiSettings

SECRET_BYTES = 32


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _out(endpoint: WebhookEndpoint) -> WebhookOut:
    return WebhookOut(
        webhook_id=endpoint.id,
        url=endpoint.url,
        events=endpoint.events,
        created_at=endpoint.created_at,
        disabled_at=endpoint.disabled_at,
        disabled_reason=endpoint.disabled_reason,
    )


def _delivery_out(row: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(
        delivery_id=row.id,
        task_id=row.task_id,
        event_type=row.event_type,
        status=row.status,
        attempts=row.attempts,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


class WebhookService:
    def __init__(
        self, sessions: async_sessionmaker, settings: ApiSettings, resolver: Resolver | None = None
    ):
        """`resolver` replaces DNS (tests)."""
        self._sessions = sessions
        self._settings = settings
        self.resolver = resolver

    async def create(self, owner: User, url: str, events: list[str]) -> WebhookCreated:
        try:
            await checked_target(
                url, allow_loopback=self._settings.webhooks_allow_loopback, resolver=self.resolver
            )
        except UrlNotAllowed as exc:
            raise Unprocessable("webhook_url_not_allowed", str(exc)) from exc
        endpoint = WebhookEndpoint(
            id=str(uuid.uuid4()), owner_id=owner.id, url=url, events=events, secret=new_secret()
        )
        async with self._sessions() as session, session.begin():
            # Locked on the owner: concurrent registrations count one after another.
            await lock_for_count(session, User.id, owner.id)
            count = await session.scalar(
                select(func.count()).where(WebhookEndpoint.owner_id == owner.id)
            )
            if count >= self._settings.max_webhooks_per_user:
                raise Conflict(
                    "too_many_webhooks",
                    f"at most {self._settings.max_webhooks_per_user} webhooks each; delete one",
                )
            session.add(endpoint)
        return WebhookCreated(**_out(endpoint).model_dump(), secret=endpoint.secret)

    async def list_owned(self, owner_id: str) -> list[WebhookOut]:
        query = (
            select(WebhookEndpoint)
            .where(WebhookEndpoint.owner_id == owner_id)
            .order_by(WebhookEndpoint.created_at.desc(), WebhookEndpoint.id.desc())
        )
        async with self._sessions() as session:
            return [_out(e) for e in await session.scalars(query)]

    async def delete(self, webhook_id: str, owner_id: str) -> None:
        """Its deliveries, pending ones included, go with it (ON DELETE CASCADE)."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                delete(WebhookEndpoint).where(
                    WebhookEndpoint.id == webhook_id, WebhookEndpoint.owner_id == owner_id
                )
            )
            if result.rowcount != 1:
                raise NotFound("webhook_not_found", f"no webhook {webhook_id}")

    async def deliveries(
        self, webhook_id: str, owner_id: str, limit: int, cursor: str | None
    ) -> DeliveryPage:
        """Newest first."""
        order = [WebhookDelivery.created_at, WebhookDelivery.id]
        query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == webhook_id)
        if cursor is not None:
            query = query.where(after_descending(order, decode_cursor(cursor, datetime, str)))
        query = query.order_by(*(c.desc() for c in order)).limit(limit + 1)
        async with self._sessions() as session:
            owned = await session.scalar(
                select(WebhookEndpoint.id).where(
                    WebhookEndpoint.id == webhook_id, WebhookEndpoint.owner_id == owner_id
                )
            )
            if owned is None:
                raise NotFound("webhook_not_found", f"no webhook {webhook_id}")
            rows = list(await session.scalars(query))
        page = page_of(rows, limit, lambda r: (r.created_at, r.id), _delivery_out)
        return DeliveryPage(items=page.items, next_cursor=page.next_cursor)
