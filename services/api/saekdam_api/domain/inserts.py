"""INSERT … ON CONFLICT DO NOTHING on both databases: the unique key decides, not a race."""

from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_ignore(session: AsyncSession, model: type, values: dict[str, Any]) -> bool:
    """True if the row was inserted, False if one with the same key already existed."""
    dialect = session.bind.dialect.name
    insert = sqlite_insert if dialect == "sqlite" else postgres_insert
    result = await session.execute(insert(model).values(**values).on_conflict_do_nothing())
    return result.rowcount == 1
