"""Keyset (cursor) paging: a page ends at a row, the next starts strictly after it.

Unlike offsets, rows added before the cursor while someone pages (new posts, new tasks) do
not shift later pages, so each older row is seen exactly once. The cursor is opaque to
clients: base64url of the last row's sort values as JSON.
"""

import base64
import binascii
import json
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, literal, tuple_

from .errors import BadRequest

MAX_CURSOR_CHARS = 512


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(*values: Any) -> str:
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps(plain, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *types: type) -> tuple:
    """The values `encode_cursor` was given, checked against `types`; 400 if not ours."""
    try:
        if len(cursor) > MAX_CURSOR_CHARS:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(types):
            raise ValueError("wrong shape")
        return tuple(_typed(value, kind) for value, kind in zip(values, types, strict=True))
    except (ValueError, TypeError, binascii.Error, RecursionError) as exc:
        raise BadRequest(
            "invalid_cursor", "the cursor is not one this server handed out; start over"
        ) from exc


def _typed(value: Any, kind: type) -> Any:
    if kind is datetime:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("naive datetime")
        return parsed
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
        raise TypeError(f"{value!r} is not {kind.__name__}")
    return value


def after_descending(columns: list[ColumnElement], values: tuple) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order `columns DESC, ...`: one row-value
    comparison, which PostgreSQL and SQLite both answer as a range seek on a matching index
    (an OR of cases is read from the top of the index instead). Each value binds with its
    column's type."""
    return tuple_(*columns) < tuple_(*_typed_values(columns, values))


def _typed_values(columns: list[ColumnElement], values: tuple) -> list:
    return [literal(v, c.type) for c, v in zip(columns, values, strict=True)]


def page_of(rows: list, limit: int, cursor_of, build) -> Page:
    """Fetch `limit + 1` rows, pass them here: items are built from the first `limit`, and a
    cursor from the last of those when there is more."""
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(
        items=[build(r) for r in rows],
        next_cursor=encode_cursor(*cursor_of(rows[-1])) if more and rows else None,
    )


def after_ascending(columns: list[ColumnElement], values: tuple) -> ColumnElement[bool]:
    """As `after_descending`, for the order `columns ASC, ...`."""
    return tuple_(*columns) > tuple_(*_typed_values(columns, values))
