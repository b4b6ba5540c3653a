"""Session history: what was measured, never what was seen (no frame is stored)."""

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from saekdam_web.auth import CurrentUser
from saekdam_web.paging import Page, decode_cursor, page_of

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
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> Page[dict]:
    """My posture sessions, newest first; `next_cursor` fetches the next page."""
    store: PostureStore = request.app.state.store
    after = decode_cursor(cursor, datetime, str) if cursor is not None else None
    rows = await store.list_sessions(user.id, limit + 1, after)
    return page_of(rows, limit, lambda r: (r.started_at, r.id), _session_out)


@router.get("/summary/daily")
async def daily(
    request: Request,
    user: CurrentUser,
    day: Annotated[date, Query(alias="date")],
    utc_offset_min: Annotated[int, Query(ge=-720, le=840)] = 0,
) -> dict:
    """One local day: time in each state, good ratio, alerts, longest good streak."""
    store: PostureStore = request.app.state.store
    start, end = local_day_bounds(day, utc_offset_min)
    return daily_summary(day, await store.sessions_between(user.id, start, end))
