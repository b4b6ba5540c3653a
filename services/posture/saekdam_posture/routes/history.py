"""Session history: what was measured, never what was seen (no frame is stored)."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request

from ..auth import CurrentUserId
from ..store import PostureStore, daily_summary, local_day_bounds

router = APIRouter(prefix="/v1/posture", tags=["posture"])


def _session_out(record) -> dict:
    return {
        "session_id": record.id,
        "setup": record.setup,
        "started_at": record.started_at,
        "ended_at": record.ended_at,
        "duration_s": round(record.duration_s, 1),
        "state_seconds": record.state_seconds,
        "alerts": record.alerts,
        "longest_good_streak_s": round(record.longest_good_streak_s, 1),
        "timeline": record.timeline,
        "frames": record.frames,
        "dropped_frames": record.dropped_frames,
    }


@router.get("/sessions")
async def sessions(
    request: Request,
    user_id: CurrentUserId,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(pattern=r"^\d{1,9}$")] = None,
) -> dict:
    """My posture sessions, newest first."""
    store: PostureStore = request.app.state.store
    offset = int(cursor or 0)
    page = await store.list_sessions(user_id, limit + 1, offset)
    return {
        "items": [_session_out(r) for r in page[:limit]],
        "next_cursor": str(offset + limit) if len(page) > limit else None,
    }


@router.get("/summary/daily")
async def daily(
    request: Request,
    user_id: CurrentUserId,
    day: Annotated[date, Query(alias="date")],
    utc_offset_min: Annotated[int, Query(ge=-720, le=840)] = 0,
) -> dict:
    """One local day: time in each state, good ratio, alerts, longest good streak."""
    store: PostureStore = request.app.state.store
    start, end = local_day_bounds(day, utc_offset_min)
    return daily_summary(day, await store.sessions_between(user_id, start, end))
