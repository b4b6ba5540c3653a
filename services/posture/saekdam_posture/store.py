"""Calibrations and session statistics in the database."""

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from saekdam_backbone.db import utcnow
from saekdam_web.paging import after_descending

from .db.models import Calibration, Session


class PostureStore:
    def __init__(self, sessions: async_sessionmaker):
        self._sessions = sessions

    async def baseline(self, user_id: str, setup: str) -> dict[str, Any] | None:
        query = select(Calibration.baseline).where(
            Calibration.user_id == user_id, Calibration.setup == setup
        )
        async with self._sessions() as session:
            return await session.scalar(query)

    async def save_baseline(self, user_id: str, setup: str, baseline: dict[str, Any]) -> None:
        """Store or replace (calibration is re-runnable) the baseline of one setup."""
        async with self._sessions() as session, session.begin():
            existing = await session.scalar(
                select(Calibration).where(
                    Calibration.user_id == user_id, Calibration.setup == setup
                )
            )
            if existing is None:
                session.add(
                    Calibration(
                        id=str(uuid.uuid4()), user_id=user_id, setup=setup, baseline=baseline
                    )
                )
            else:
                existing.baseline = baseline
                existing.created_at = utcnow()

    async def save_session(self, record: Session) -> None:
        async with self._sessions() as session, session.begin():
            await session.merge(record)

    async def list_sessions(
        self, user_id: str, limit: int, after: tuple[datetime, str] | None = None
    ) -> list[Session]:
        """Newest first, by (started_at, id) descending; `after` is the last row of the page
        before (keyset paging), so a session that starts meanwhile shifts nothing."""
        query = select(Session).where(Session.user_id == user_id)
        if after is not None:
            query = query.where(after_descending([Session.started_at, Session.id], after))
        query = query.order_by(Session.started_at.desc(), Session.id.desc()).limit(limit)
        async with self._sessions() as session:
            return list((await session.scalars(query)).all())

    async def sessions_between(self, user_id: str, start: datetime, end: datetime) -> list[Session]:
        query = select(Session).where(
            Session.user_id == user_id, Session.started_at >= start, Session.started_at < end
        )
        async with self._sessions() as session:
            return list((await session.scalars(query)).all())


def local_day_bounds(day: date, utc_offset_min: int) -> tuple[datetime, datetime]:
    """The UTC instants a local calendar day starts and ends at."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(minutes=utc_offset_min)
    return start, start + timedelta(days=1)


def daily_summary(day: date, sessions: list[Session]) -> dict[str, Any]:
    state_seconds: dict[str, float] = {}
    for record in sessions:
        for state, seconds in (record.state_seconds or {}).items():
            state_seconds[state] = state_seconds.get(state, 0.0) + seconds
    # Of the time posture was actually scored: calibrating (uncalibrated), glancing away
    # (unscored), paused and away are neither good nor bad time.
    watched = sum(state_seconds.get(k, 0.0) for k in ("good", "forward_head", "looking_down"))
    good = state_seconds.get("good", 0.0)
    return {
        "date": day.isoformat(),
        "sessions": len(sessions),
        "total_s": round(sum(r.duration_s for r in sessions), 1),
        "state_seconds": {k: round(v, 1) for k, v in sorted(state_seconds.items())},
        "good_ratio": round(good / watched, 3) if watched else None,
        "alerts": sum(r.alerts for r in sessions),
        "longest_good_streak_s": round(
            max((r.longest_good_streak_s for r in sessions), default=0.0), 1
        ),
    }
