from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from saekdam_backbone.db import Base, UTCDateTime, utcnow

# One metadata for migrations: the shared tables and the API's own.
from saekdam_backbone.notifications import models as _notifications  # noqa: F401
from saekdam_backbone.tasks.models import Task  # noqa: F401
from saekdam_backbone.users import User  # noqa: F401

from .board import Comment, Like, Post, PostImage, PostView, Report  # noqa: F401


class Upload(Base):
    """An upload slot the server handed out. The object lands in storage under `key`."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36), index=True)
    role: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(256), unique=True)
    content_type: Mapped[str] = mapped_column(String(64))
    max_bytes: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
