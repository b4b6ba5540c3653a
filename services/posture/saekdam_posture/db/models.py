from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from saekdam_backbone.db import UTCDateTime, utcnow


class PostureBase(DeclarativeBase):
    """Separate metadata: this service migrates only its own tables."""


class Calibration(PostureBase):
    """A user's upright baseline for one named setup (laptop, desk monitor, ...)."""

    __tablename__ = "posture_calibrations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36))
    setup: Mapped[str] = mapped_column(String(40))
    baseline: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("user_id", "setup", name="uq_posture_calibration_setup"),)


class Session(PostureBase):
    """One websocket session's statistics. No frame is ever stored."""

    __tablename__ = "posture_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36))
    setup: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    state_seconds: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    alerts: Mapped[int] = mapped_column(Integer, default=0)
    longest_good_streak_s: Mapped[float] = mapped_column(Float, default=0.0)
    # [{"t": seconds since start, "score": mean forward-head index}, ...], low resolution.
    timeline: Mapped[list[dict[str, float]]] = mapped_column(JSON, default=list)
    frames: Mapped[int] = mapped_column(Integer, default=0)
    dropped_frames: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_posture_sessions_user_started", "user_id", "started_at"),)
