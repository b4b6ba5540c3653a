"""Accounts. The API owns the table; every service that authenticates reads it."""

from datetime import datetime

from sqlalchemy import Boolean, String, bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base, UTCDateTime, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    username: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str | None] = mapped_column(String(256))
    is_guest: Mapped[bool] = mapped_column(Boolean, default=False)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set by an operator (`python -m saekdam_api.admin disable EMAIL`): its tokens stop working.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


async def load_user(sessions: async_sessionmaker, user_id: str) -> User | None:
    async with sessions() as session:
        return await session.get(User, user_id)


_BY_ID = select(User.__table__).where(User.__table__.c.id == bindparam("user_id"))


async def read_user(engine: AsyncEngine, user_id: str) -> User | None:
    """The user, read fresh with one Core statement: every request's check that its token's
    user still exists and is not disabled. Returned detached (no session holds it)."""
    async with engine.connect() as connection:
        row = (await connection.execute(_BY_ID, {"user_id": user_id})).mappings().first()
    return User(**row) if row is not None else None
