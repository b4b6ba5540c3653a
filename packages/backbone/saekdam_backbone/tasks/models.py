from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from saekdam_contracts.status import TaskStatus

from ..db import Base, UTCDateTime, utcnow


class Task(Base):
    """One user job. Every write after submit is fenced by `attempt` (see store.py)."""

    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str | None] = mapped_column(String(32))
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    inputs: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.CREATED)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str | None] = mapped_column(String(32))
    step: Mapped[int | None] = mapped_column(Integer)
    total_steps: Mapped[int | None] = mapped_column(Integer)
    eta_s: Mapped[float | None] = mapped_column(Float)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    results: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    # Fencing token: grows with every claim and is never reused.
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    # Attempts that count against max_attempts (a graceful release gives one back).
    charged_attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    worker_id: Mapped[str | None] = mapped_column(String(128))
    # Queue timing in epoch seconds: compared in SQL, identical on SQLite and PostgreSQL.
    lease_until: Mapped[float | None] = mapped_column(Float)
    available_at: Mapped[float | None] = mapped_column(Float)
    enqueued_at: Mapped[float | None] = mapped_column(Float)
    # The stream message id of the last enqueue, to tell a lost message from a slow queue.
    enqueued_id: Mapped[str | None] = mapped_column(String(40))

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_tasks_owner_created", "owner_id", "created_at"),
        Index("ix_tasks_status_available", "status", "available_at"),
    )
