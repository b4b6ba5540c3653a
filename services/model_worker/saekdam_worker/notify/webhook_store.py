"""Webhook deliveries as a queue in the database: one row per event and endpoint.

A row is claimed with a lease by one guarded UPDATE … RETURNING (as task claims are), so
several workers share the queue and a worker that dies mid-attempt only delays its rows
until the lease lapses. Outcomes are fenced by the attempt number the claim returned.
Times are the database's clock (`db_epoch`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, and_, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import async_sessionmaker

from saekdam_backbone.db import db_epoch, utcnow
from saekdam_backbone.notifications.models import WebhookDelivery, WebhookEndpoint
from saekdam_backbone.tasks.models import Task

PENDING, DELIVERED, FAILED, DISABLED = "pending", "delivered", "failed", "disabled"
MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker now attempts (its `attempts` already counts this one)."""

    id: str
    endpoint_id: str
    url: str
    secret: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class NewDelivery:
    id: str
    endpoint_id: str
    event_type: str
    payload: dict[str, Any]


class WebhookStore:
    def __init__(self, sessions: async_sessionmaker, clock: Callable[[], float] | None = None):
        """`clock` replaces the database's clock (tests)."""
        self._sessions = sessions
        self._clock = clock

    def _now(self):
        return db_epoch() if self._clock is None else literal(self._clock(), Float)

    # -- filling the queue ---------------------------------------------------------------

    async def task(self, task_id: str) -> Task | None:
        async with self._sessions() as session:
            return await session.get(Task, task_id)

    async def with_endpoints(self, task_ids: list[str]) -> set[str]:
        """Which of the tasks belong to someone with an enabled endpoint: one query for a
        batch of news, so the common case (nobody has webhooks) costs no more."""
        query = (
            select(Task.id)
            .join(WebhookEndpoint, WebhookEndpoint.owner_id == Task.owner_id)
            .where(Task.id.in_(task_ids), WebhookEndpoint.disabled_at.is_(None))
            .distinct()
        )
        async with self._sessions() as session:
            return set((await session.scalars(query)).all())

    async def endpoints_for(self, owner_id: str, event_type: str) -> list[WebhookEndpoint]:
        query = select(WebhookEndpoint).where(
            WebhookEndpoint.owner_id == owner_id, WebhookEndpoint.disabled_at.is_(None)
        )
        async with self._sessions() as session:
            endpoints = (await session.scalars(query)).all()
        return [e for e in endpoints if event_type in e.events]

    async def add(self, task_id: str, deliveries: list[NewDelivery]) -> int:
        """Queue the deliveries, due now; one already queued under its id is left alone (a
        news entry read twice). Returns how many are new."""
        added = 0
        async with self._sessions() as session, session.begin():
            insert = sqlite_insert if session.bind.dialect.name == "sqlite" else postgres_insert
            for d in deliveries:
                statement = insert(WebhookDelivery).values(
                    id=d.id,
                    endpoint_id=d.endpoint_id,
                    task_id=task_id,
                    event_type=d.event_type,
                    payload=d.payload,
                    status=PENDING,
                    attempts=0,
                    next_attempt_at=self._now(),
                    created_at=utcnow(),
                )
                result = await session.execute(statement.on_conflict_do_nothing())
                added += result.rowcount
        return added

    # -- draining it ---------------------------------------------------------------------

    async def claim_due(
        self, limit: int, lease_s: float, per_endpoint: int, busy: set[str]
    ) -> list[Claimed]:
        """Up to `limit` due rows, at most `per_endpoint` of one endpoint, none of the
        endpoints in `busy` (they have attempts in flight here already)."""
        now = self._now()
        due = and_(
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
        )
        rank = (
            func.row_number()
            .over(
                partition_by=WebhookDelivery.endpoint_id,
                order_by=(WebhookDelivery.next_attempt_at, WebhookDelivery.id),
            )
            .label("rank")
        )
        candidates = (
            select(WebhookDelivery.id, WebhookDelivery.next_attempt_at, rank)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(due, WebhookEndpoint.disabled_at.is_(None))
        )
        if busy:
            candidates = candidates.where(WebhookDelivery.endpoint_id.not_in(busy))
        ranked = candidates.subquery()
        chosen = (
            select(ranked.c.id)
            .where(ranked.c.rank <= per_endpoint)
            .order_by(ranked.c.next_attempt_at)
            .limit(limit)
        )
        claim = (
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(chosen), due)  # the guard, again, under the lock
            .values(lease_until=now + lease_s, attempts=WebhookDelivery.attempts + 1)
            .returning(WebhookDelivery)
            .execution_options(synchronize_session=False)
        )
        async with self._sessions() as session, session.begin():
            rows = list((await session.scalars(claim)).all())
            if not rows:
                return []
            endpoint_ids = {r.endpoint_id for r in rows}
            endpoints = {
                e.id: e
                for e in await session.scalars(
                    select(WebhookEndpoint).where(WebhookEndpoint.id.in_(endpoint_ids))
                )
            }
        return [
            Claimed(
                r.id,
                r.endpoint_id,
                endpoints[r.endpoint_id].url,
                endpoints[r.endpoint_id].secret,
                r.payload,
                r.attempts,
            )
            for r in rows
            if r.endpoint_id in endpoints
        ]

    async def delivered(self, claimed: Claimed, status_code: int) -> bool:
        return await self._finish(
            claimed,
            status=DELIVERED,
            last_status_code=status_code,
            last_error=None,
            delivered_at=utcnow(),
            lease_until=None,
        )

    async def failed(
        self, claimed: Claimed, status_code: int | None, error: str, retry_in_s: float | None
    ) -> bool:
        """Retry after `retry_in_s`, or give up (None)."""
        retry = {"next_attempt_at": self._now() + retry_in_s} if retry_in_s is not None else {}
        return await self._finish(
            claimed,
            status=PENDING if retry_in_s is not None else FAILED,
            last_status_code=status_code,
            last_error=error[:MAX_ERROR_CHARS],
            lease_until=None,
            **retry,
        )

    async def gone(self, claimed: Claimed, status_code: int, reason: str) -> None:
        """The receiver said 410 Gone: the endpoint is disabled and nothing more is sent."""
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(WebhookEndpoint)
                .where(WebhookEndpoint.id == claimed.endpoint_id)
                .values(disabled_at=utcnow(), disabled_reason=reason[:200])
            )
            await session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.endpoint_id == claimed.endpoint_id,
                    WebhookDelivery.status == PENDING,
                )
                .values(status=DISABLED, lease_until=None)
            )
            await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == claimed.id)
                .values(last_status_code=status_code, last_error=reason[:MAX_ERROR_CHARS])
            )

    async def _finish(self, claimed: Claimed, **values: Any) -> bool:
        """Record an attempt's outcome unless another worker took the row over since."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == claimed.id,
                    WebhookDelivery.attempts == claimed.attempts,
                    WebhookDelivery.status == PENDING,
                )
                .values(**values)
            )
            return result.rowcount == 1
