"""Keyset paging: cursors round-trip, foreign or tampered ones are 400 `invalid_cursor`, and
paging a real (SQLite) table while newer rows arrive sees each older row exactly once."""

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

from saekdam_backbone.db import UTCDateTime, create_engine
from saekdam_web.errors import BadRequest, install_error_handlers
from saekdam_web.paging import (
    MAX_CURSOR_CHARS,
    Page,
    after_ascending,
    after_descending,
    decode_cursor,
    encode_cursor,
    page_of,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_a_cursor_round_trips_its_typed_values():
    when = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
    cursor = encode_cursor(when, "b6f0-id", 42, 1.5, True)
    assert decode_cursor(cursor, datetime, str, int, float, bool) == (
        when,
        "b6f0-id",
        42,
        1.5,
        True,
    )
    # URL-safe, unpadded: fits a query string untouched.
    assert all(c.isalnum() or c in "-_" for c in cursor)


def test_a_cursor_keeps_the_time_zone_and_an_integral_float():
    seoul = datetime(2024, 5, 1, 21, 0, tzinfo=timezone(timedelta(hours=9)))
    (back,) = decode_cursor(encode_cursor(seoul), datetime)
    assert back == seoul and back.utcoffset() == seoul.utcoffset()
    # A popularity score may come back from JSON as an int; a float column still gets a float.
    assert decode_cursor(encode_cursor(3), float) == (3.0,)
    assert isinstance(decode_cursor(encode_cursor(3), float)[0], float)


TAMPERED = {
    "not base64": "!!!not-base64!!!",
    "not ascii": "커서",
    "not json": b64(b"hello there"),
    "not utf-8": b64(b"\xff\xfe\xfd"),
    "an object": b64(json.dumps({"a": 1}).encode()),
    "a string": b64(json.dumps("2024-05-01T12:00:00+00:00").encode()),
    "too few values": encode_cursor("2024-05-01T12:00:00+00:00"),
    "too many values": encode_cursor("2024-05-01T12:00:00+00:00", "id", "extra"),
    "swapped values": encode_cursor("id", "2024-05-01T12:00:00+00:00"),
    "a naive time": encode_cursor("2024-05-01T12:00:00", "id"),
    "not a time": encode_cursor("yesterday", "id"),
    "a number for the time": encode_cursor(1714564800, "id"),
    "a number for the id": encode_cursor("2024-05-01T12:00:00+00:00", 7),
    "null for the id": encode_cursor("2024-05-01T12:00:00+00:00", None),
    "too long": encode_cursor("2024-05-01T12:00:00+00:00", "x" * MAX_CURSOR_CHARS),
    "nested": b64(b"[" * 150 + b"]" * 150),
    "empty": "",
}


@pytest.mark.parametrize("cursor", TAMPERED.values(), ids=TAMPERED.keys())
def test_a_tampered_cursor_is_invalid_cursor(cursor):
    with pytest.raises(BadRequest) as raised:
        decode_cursor(cursor, datetime, str)
    assert raised.value.code == "invalid_cursor"
    assert raised.value.status_code == 400


@pytest.mark.parametrize(
    ("values", "types"),
    [
        ((True,), (int,)),  # a bool is no int here
        ((1,), (bool,)),
        ((True,), (float,)),
        ((1.5,), (int,)),
        (("1",), (int,)),
    ],
)
def test_a_cursor_of_another_listing_is_invalid_cursor(values, types):
    with pytest.raises(BadRequest) as raised:
        decode_cursor(encode_cursor(*values), *types)
    assert raised.value.code == "invalid_cursor"


async def test_an_invalid_cursor_is_a_400_response():
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/items")
    async def items(cursor: str):
        when, item_id = decode_cursor(cursor, datetime, str)
        return {"when": when.isoformat(), "id": item_id}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        good = await http.get("/items", params={"cursor": encode_cursor(T0, "a")})
        assert good.status_code == 200
        assert good.json() == {"when": T0.isoformat(), "id": "a"}

        forged = await http.get("/items", params={"cursor": encode_cursor("a", T0)})
        assert forged.status_code == 400
        error = forged.json()["error"]
        assert error["code"] == "invalid_cursor" and "start over" in error["message"]


metadata = MetaData()
items = Table(
    "paging_items",
    metadata,
    Column("id", String(8), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("score", Integer, nullable=False),
)


@pytest.fixture
async def engine(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'paging.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


async def add(engine, *rows: tuple[str, datetime, int]) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            insert(items), [{"id": i, "created_at": t, "score": s} for i, t, s in rows]
        )


async def newest_first(engine, limit: int, cursor: str | None) -> Page:
    query = select(items).order_by(items.c.created_at.desc(), items.c.id.desc())
    if cursor is not None:
        values = decode_cursor(cursor, datetime, str)
        query = query.where(after_descending([items.c.created_at, items.c.id], values))
    async with engine.connect() as connection:
        rows = (await connection.execute(query.limit(limit + 1))).all()
    return page_of(rows, limit, lambda r: (r.created_at, r.id), lambda r: r.id)


async def test_paging_newest_first_sees_each_row_once_while_new_rows_arrive(engine):
    # Ties on the time are broken by the id, so no row falls between two pages.
    await add(
        engine,
        ("a", T0, 0),
        ("b", T0 + timedelta(seconds=1), 0),
        ("c", T0 + timedelta(seconds=1), 0),
        ("d", T0 + timedelta(seconds=1), 0),
        ("e", T0 + timedelta(seconds=2), 0),
        ("f", T0 + timedelta(seconds=3, microseconds=5), 0),
        ("g", T0 + timedelta(seconds=3, microseconds=6), 0),
    )
    seen, cursor, newer = [], None, 0
    while True:
        page = await newest_first(engine, 2, cursor)
        seen += page.items
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
        newer += 1  # someone posts while we page: it must not shift the later pages
        await add(engine, (f"new{newer}", T0 + timedelta(hours=newer), 0))
    assert seen == ["g", "f", "e", "d", "c", "b", "a"]

    first = await newest_first(engine, 50, None)
    assert first.next_cursor is None and len(first.items) == 7 + newer


async def test_a_page_of_exactly_the_limit_has_no_next_cursor(engine):
    await add(engine, ("a", T0, 0), ("b", T0 + timedelta(seconds=1), 0))
    page = await newest_first(engine, 2, None)
    assert page.items == ["b", "a"] and page.next_cursor is None
    empty = await newest_first(engine, 2, encode_cursor(T0, "a"))
    assert empty.items == [] and empty.next_cursor is None


async def test_paging_oldest_first_by_score_and_id(engine):
    await add(engine, *[(f"r{i}", T0, i % 3) for i in range(8)])
    order = [items.c.score, items.c.id]
    seen, cursor = [], None
    while True:
        query = select(items).order_by(*order)
        if cursor is not None:
            query = query.where(after_ascending(order, decode_cursor(cursor, int, str)))
        async with engine.connect() as connection:
            rows = (await connection.execute(query.limit(3 + 1))).all()
        page = page_of(rows, 3, lambda r: (r.score, r.id), lambda r: r.id)
        seen += page.items
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == ["r0", "r3", "r6", "r1", "r4", "r7", "r2", "r5"]
