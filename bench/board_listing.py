"""Board listing latency: GET /v1/posts on a seeded board, first page vs a deep page, and search.

A fresh database (SQLite file, and a throw-away PostgreSQL database) migrated by the API's
real migrations, seeded directly with SQLAlchemy core bulk inserts: `USERS` users, `POSTS`
posts (Korean and English words; some with 벽화 or mural in the title or body; created over
`DAYS` days; a few deleted or hidden), one post_images row per post (its keys are never read:
local storage only HMAC-signs URLs), `LIKES` likes spread over the posts with a skewed
(log-normal) weight, like_count and hot (domain/ranking.hot_score) set to match, then ANALYZE.

Measured through the real HTTP path in this process: httpx.AsyncClient over ASGITransport on
create_app(ApiSettings) with its lifespan (Redis for the hub and the rate limiter, local
storage in a temp dir), anonymous viewer. Page 200 is reached by following next_cursor from
page 1 (the walk checks every post comes once), then fetched again and again with that
cursor. Every request kind is timed once per round, rounds interleaved, after warm-up rounds.

Run alone: `.venv/bin/python -m bench.board_listing [--repeat N] [--no-postgres]`.
"""

import argparse
import asyncio
import json
import math
import random
import secrets
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import event, insert, text

from saekdam_api.app import create_app
from saekdam_api.db.board import Like, Post, PostImage
from saekdam_api.domain.ranking import hot_score
from saekdam_api.settings import ApiSettings
from saekdam_backbone.db import create_engine
from saekdam_backbone.users import User
from saekdam_contracts.keys import post_image_key

USERS = 2_000
POSTS = 10_000
LIKES = 100_000
DAYS = 60
PAGE_SIZE = 20
DEEP_PAGE = 200
REPEAT = 200
WARMUP_ROUNDS = 10
SEED = 7
DELETED_SHARE = 0.01
HIDDEN_SHARE = 0.005
SEARCHES = ("벽화", "mural")
QUERY_REPEAT = 50
# Flagged in the report, with the plan: a page-200 query that does not seek to the cursor, or
# page 200 this many times page 1 (p50 over HTTP), or a search p99 above SLOW_SEARCH_MS.
RATIO_FLAG = 1.5
SLOW_SEARCH_MS = 50.0

KOREAN = (
    "골목 바다 하늘 노을 고양이 도시 숲 별빛 산책 여름 겨울 색감 그림 작품 동네 담장 풍경 "
    "꽃 봄 카페 아이들 학교 계단 햇살 무지개"
).split()
PARTICLES = ("", "", "을", "이", "의", "에서", "와", "는")
ENGLISH = (
    "street ocean sunset forest city cat wall color dream night spring art paint alley "
    "garden sky neighborhood stairs school rainbow"
).split()
MARKERS = {"벽화": ("벽화", "벽화를", "벽화가", "벽화의"), "mural": ("mural", "murals", "Mural")}
MARKER_TITLE_P = 0.04
MARKER_BODY_P = 0.08

CASES = (
    ("recent_page1", "recent, page 1"),
    ("recent_page200", f"recent, page {DEEP_PAGE}"),
    ("popular_page1", "popular, page 1"),
    ("popular_page200", f"popular, page {DEEP_PAGE}"),
    ("search_벽화", "search q=벽화, page 1"),
    ("search_mural", "search q=mural, page 1"),
)


# -- seeding -------------------------------------------------------------------------------


def _words(rng: random.Random, count: int) -> list[str]:
    out = []
    for _ in range(count):
        if rng.random() < 0.6:
            out.append(rng.choice(KOREAN) + rng.choice(PARTICLES))
        else:
            out.append(rng.choice(ENGLISH))
    return out


def _text(rng: random.Random, count: int, p_marker: float) -> str:
    words = _words(rng, count)
    for variants in MARKERS.values():
        if rng.random() < p_marker:
            words.insert(rng.randrange(len(words) + 1), rng.choice(variants))
    return " ".join(words)


def build_rows(now: datetime) -> dict[str, list[dict]]:
    """Every row to insert, deterministic for a given `now`."""
    rng = random.Random(SEED)
    joined = now - timedelta(days=DAYS + 30)
    users = [
        {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "email": f"user{i}@bench.example",
            "username": f"user_{i:04d}",
            "password_hash": None,
            "is_guest": False,
            "is_admin": False,
            "created_at": joined,
        }
        for i in range(USERS)
    ]
    span = DAYS * 86_400
    created = [now - timedelta(seconds=rng.uniform(0, span)) for _ in range(POSTS)]
    # Skewed likes: each post draws a log-normal weight; no post more likes than users.
    weights = [rng.lognormvariate(0, 1.5) for _ in range(POSTS)]
    counts = Counter(rng.choices(range(POSTS), weights=weights, k=LIKES))
    overflow = sum(max(0, c - USERS) for c in counts.values())
    for p in [p for p, c in counts.items() if c > USERS]:
        counts[p] = USERS
    while overflow:
        p = rng.randrange(POSTS)
        if counts[p] < USERS:
            counts[p] += 1
            overflow -= 1

    posts, images, likes = [], [], []
    for i in range(POSTS):
        post_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        at = created[i]
        n = counts.get(i, 0)
        roll = rng.random()
        posts.append(
            {
                "id": post_id,
                "author_id": users[rng.randrange(USERS)]["id"],
                "title": _text(rng, rng.randint(2, 5), MARKER_TITLE_P)[:100],
                "body": _text(rng, rng.randint(8, 30), MARKER_BODY_P),
                "made_with": {"kind": "mural", "theme": "ocean", "seed": i}
                if rng.random() < 0.5
                else None,
                "source_params": None,
                "like_count": n,
                "comment_count": 0,
                "view_count": rng.randint(0, 500),
                "hot": hot_score(n, at),
                "created_at": at,
                "updated_at": at,
                "deleted_at": at + timedelta(hours=1) if roll < DELETED_SHARE else None,
                "hidden_at": at + timedelta(hours=2)
                if DELETED_SHARE <= roll < DELETED_SHARE + HIDDEN_SHARE
                else None,
            }
        )
        image_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        images.append(
            {
                "id": image_id,
                "post_id": post_id,
                "position": 0,
                "key": post_image_key(post_id, image_id, "original.jpg"),
                "content_type": "image/jpeg",
                "width": 1024,
                "height": 768,
                "thumbnail_key": post_image_key(post_id, image_id, "thumbnail.webp"),
                "thumbnail_width": 512,
                "thumbnail_height": 384,
                "source_task_id": None,
            }
        )
        age = (now - at).total_seconds()
        for u in rng.sample(range(USERS), n):
            likes.append(
                {
                    "post_id": post_id,
                    "user_id": users[u]["id"],
                    "created_at": at + timedelta(seconds=rng.uniform(0, age)),
                }
            )
    return {"users": users, "posts": posts, "post_images": images, "likes": likes}


def _visible(post: dict) -> bool:
    return post["deleted_at"] is None and post["hidden_at"] is None


def _matches(post: dict, query: str) -> bool:
    return query.lower() in (post["title"] + " " + post["body"]).lower()


async def seed(database_url: str, rows: dict[str, list[dict]], chunk: int = 5_000) -> float:
    """Bulk-insert the rows (the SQLite search triggers fill posts_search), then ANALYZE."""
    began = time.perf_counter()
    engine = create_engine(database_url)
    try:
        tables = (
            ("users", User.__table__),
            ("posts", Post.__table__),
            ("post_images", PostImage.__table__),
            ("likes", Like.__table__),
        )
        async with engine.begin() as connection:
            for name, table in tables:
                batch = rows[name]
                for start in range(0, len(batch), chunk):
                    await connection.execute(insert(table), batch[start : start + chunk])
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
    finally:
        await engine.dispose()
    return time.perf_counter() - began


# -- measuring -----------------------------------------------------------------------------


def _percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[index]


def _stats(samples_ms: list[float]) -> dict:
    ordered = sorted(samples_ms)
    return {
        "n": len(ordered),
        "p50_ms": round(_percentile(ordered, 0.50), 3),
        "p99_ms": round(_percentile(ordered, 0.99), 3),
        "mean_ms": round(sum(ordered) / len(ordered), 3),
        "min_ms": round(ordered[0], 3),
        "max_ms": round(ordered[-1], 3),
    }


def _settings(database_url: str, redis_url: str, storage_root: Path) -> ApiSettings:
    limits = {
        name: 1_000_000
        for name in ApiSettings.model_fields
        if name.startswith("rate_") and name.endswith("_per_min")
    }
    return ApiSettings(
        database_url=database_url,
        redis_url=redis_url,
        jwt_secret=secrets.token_urlsafe(32),
        storage_backend="local",
        storage_signing_secret=secrets.token_urlsafe(32),
        storage_local_root=str(storage_root),
        public_base_url="http://testserver",
        log_json=False,
        log_level="WARNING",
        **limits,
    )


async def _get(client: httpx.AsyncClient, params: dict) -> tuple[float, dict]:
    started = time.perf_counter()
    response = await client.get("/v1/posts", params=params)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"GET /v1/posts {params}: {response.status_code} {response.text[:300]}")
    return elapsed, response.json()


async def _walk(client: httpx.AsyncClient, sort: str) -> dict:
    """Follow next_cursor from page 1 to page DEEP_PAGE; the cursor that fetches that page."""
    seen: set[str] = set()
    cursor = None
    began = time.perf_counter()
    for page in range(1, DEEP_PAGE + 1):
        params = {"sort": sort, "limit": PAGE_SIZE}
        if cursor is not None:
            params["cursor"] = cursor
        if page == DEEP_PAGE:
            deep_cursor = cursor
        _, body = await _get(client, params)
        items = body["items"]
        if len(items) != PAGE_SIZE or body["next_cursor"] is None:
            raise RuntimeError(f"{sort}: page {page} has {len(items)} posts, no more pages")
        seen.update(item["post_id"] for item in items)
        cursor = body["next_cursor"]
    expected = DEEP_PAGE * PAGE_SIZE
    if len(seen) != expected:
        raise RuntimeError(f"{sort}: {len(seen)} distinct posts in {expected} (keyset broken)")
    return {"cursor": deep_cursor, "walk_s": round(time.perf_counter() - began, 3)}


class _Capture:
    """The posts SELECT of one request, as sent to the driver, to EXPLAIN it afterwards."""

    def __init__(self, engine) -> None:
        self.armed = False
        self.statement: tuple[str, object] | None = None
        event.listen(engine.sync_engine, "before_cursor_execute", self._hook)

    def _hook(self, conn, cursor, statement, parameters, context, executemany) -> None:
        flat = " ".join(statement.split()).lower()
        if self.armed and flat.startswith("select posts.id") and " order by " in flat:
            self.statement = (statement, parameters)
            self.armed = False


async def _query_ms(engine, statement: str, parameters, repeat: int = QUERY_REPEAT) -> float:
    """Median time of the posts SELECT alone, on one pooled connection, rows fetched."""
    times = []
    async with engine.connect() as connection:
        for _ in range(repeat):
            started = time.perf_counter()
            (await connection.exec_driver_sql(statement, parameters)).all()
            times.append((time.perf_counter() - started) * 1000)
    return round(_percentile(sorted(times), 0.5), 3)


def _seeks(dialect: str, plan: list[str]) -> bool:
    """Does the deep page's plan start the index scan at the cursor (instead of filtering)?"""
    if dialect == "postgresql":
        return any("Index Cond" in line for line in plan)
    return any(line.startswith("SEARCH posts USING") for line in plan)


async def _explain(engine, dialect: str, statement: str, parameters) -> list[str]:
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if dialect == "postgresql" else "EXPLAIN QUERY PLAN "
    async with engine.connect() as connection:
        result = await connection.exec_driver_sql(prefix + statement, parameters)
        rows = result.all()
    if dialect == "postgresql":
        return [row[0] for row in rows]
    return [str(row[-1]) for row in rows]


async def run_database(
    name: str,
    database_url: str,
    redis_url: str,
    storage_root: Path,
    repeat: int = REPEAT,
    warmup: int = WARMUP_ROUNDS,
    log: Callable[[str], None] = print,
) -> dict:
    began = time.perf_counter()
    now = datetime.now(UTC)
    rows = build_rows(now)
    log(f"board ({name}): seeding {USERS} users, {POSTS} posts, {LIKES} likes, {POSTS} post images")
    seed_s = await seed(database_url, rows)
    visible = [p for p in rows["posts"] if _visible(p)]
    seeded = {
        "users": USERS,
        "posts": POSTS,
        "visible_posts": len(visible),
        "likes": len(rows["likes"]),
        "post_images": len(rows["post_images"]),
        "max_likes_per_post": max(p["like_count"] for p in rows["posts"]),
        "posts_without_likes": sum(1 for p in rows["posts"] if p["like_count"] == 0),
        "search_matches": {q: sum(1 for p in visible if _matches(p, q)) for q in SEARCHES},
        "seed_s": round(seed_s, 2),
    }
    del rows
    app = create_app(_settings(database_url, redis_url, storage_root))
    async with app.router.lifespan_context(app):
        engine = app.state.engine
        capture = _Capture(engine)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", timeout=60
        ) as client:
            log(f"board ({name}): walking {DEEP_PAGE} pages by next_cursor, recent and popular")
            walks = {sort: await _walk(client, sort) for sort in ("recent", "popular")}
            params = {
                "recent_page1": {"sort": "recent", "limit": PAGE_SIZE},
                "recent_page200": {
                    "sort": "recent",
                    "limit": PAGE_SIZE,
                    "cursor": walks["recent"]["cursor"],
                },
                "popular_page1": {"sort": "popular", "limit": PAGE_SIZE},
                "popular_page200": {
                    "sort": "popular",
                    "limit": PAGE_SIZE,
                    "cursor": walks["popular"]["cursor"],
                },
                **{f"search_{q}": {"q": q, "limit": PAGE_SIZE} for q in SEARCHES},
            }
            log(
                f"board ({name}): {warmup} warm-up + {repeat} measured rounds of "
                f"{len(params)} requests"
            )
            samples: dict[str, list[float]] = {key: [] for key in params}
            for round_ in range(warmup + repeat):
                for key, p in params.items():
                    elapsed, _ = await _get(client, p)
                    if round_ >= warmup:
                        samples[key].append(elapsed)
            plans: dict[str, list[str]] = {}
            query_ms: dict[str, float] = {}
            for key, p in params.items():
                capture.armed = True
                await _get(client, p)
                if capture.statement is not None:
                    statement, parameters = capture.statement
                    plans[key] = await _explain(engine, engine.dialect.name, statement, parameters)
                    query_ms[key] = await _query_ms(engine, statement, parameters)
                capture.statement = None
            dialect = engine.dialect.name
    cases = {key: _stats(values) for key, values in samples.items()}
    ratios = {
        sort: {
            "p50": round(cases[f"{sort}_page200"]["p50_ms"] / cases[f"{sort}_page1"]["p50_ms"], 3),
            "p99": round(cases[f"{sort}_page200"]["p99_ms"] / cases[f"{sort}_page1"]["p99_ms"], 3),
        }
        for sort in ("recent", "popular")
    }
    seeks = {sort: _seeks(dialect, plans.get(f"{sort}_page200", [])) for sort in ratios}
    query_ratios = {
        sort: round(query_ms[f"{sort}_page200"] / query_ms[f"{sort}_page1"], 2)
        for sort in ratios
        if f"{sort}_page200" in query_ms and f"{sort}_page1" in query_ms
    }
    search_p99 = max(cases[f"search_{q}"]["p99_ms"] for q in SEARCHES)
    flagged = [s for s, r in ratios.items() if r["p50"] > RATIO_FLAG or not seeks[s]]
    if search_p99 > SLOW_SEARCH_MS:
        flagged.append("search")
    return {
        "database": name,
        "seeded": seeded,
        "page_size": PAGE_SIZE,
        "deep_page": DEEP_PAGE,
        "repeat": repeat,
        "warmup_rounds": warmup,
        "walk_s": {sort: w["walk_s"] for sort, w in walks.items()},
        "cases": cases,
        "ratio_page200_vs_page1": ratios,
        "query_p50_ms": query_ms,
        "query_ratio_page200_vs_page1": query_ratios,
        "keyset_seeks": seeks,
        "search_p99_ms": search_p99,
        "flagged": flagged,
        "plans": plans,
        "elapsed_s": round(time.perf_counter() - began, 1),
    }


def run(
    bench,
    repeat: int = REPEAT,
    postgres: bool = True,
    log: Callable[[str], None] = print,
    runner: Callable = asyncio.run,
) -> dict:
    """The whole section: SQLite, then PostgreSQL unless told not to or not reachable.
    `bench` is a bench.environment.Bench (temp dir, redis-server, databases)."""
    from .environment import postgres_reachable

    began = time.perf_counter()
    redis_url = bench.redis_db(2)
    out: dict = {}
    out["sqlite"] = runner(
        run_database(
            "sqlite",
            bench.sqlite_url("board"),
            redis_url,
            bench.tmp / "board-sqlite" / "storage",
            repeat,
            log=log,
        )
    )
    why = "--no-postgres" if not postgres else postgres_reachable()
    if why:
        out["postgres"] = {"skipped": why}
    else:
        with bench.postgres() as url:
            out["postgres"] = runner(
                run_database(
                    "postgres", url, redis_url, bench.tmp / "board-pg" / "storage", repeat, log=log
                )
            )
    out["elapsed_s"] = round(time.perf_counter() - began, 1)
    return out


# -- report --------------------------------------------------------------------------------


def _row(cells: list, widths: list[int]) -> str:
    return "  ".join(
        str(c).ljust(w) if i == 0 else str(c).rjust(w)
        for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    )


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def render(board: dict | None, number: int = 5) -> list[str]:
    if not board:
        return []
    title = f"{number}. Board listing, GET /v1/posts through the HTTP path in process"
    if "skipped" in board:
        return ["", f"{title}: skipped ({board['skipped']})"]
    done = [r for r in (board.get("sqlite"), board.get("postgres")) if r and "skipped" not in r]
    if not done:
        return ["", f"{title}: nothing ran"]
    first = done[0]
    s = first["seeded"]
    lines = [
        "",
        f"{title}: {s['posts']:,} posts ({s['visible_posts']:,} visible), {s['likes']:,} likes "
        f"(skewed, max {s['max_likes_per_post']} on one post), {s['users']:,} users, 1 image "
        f"per post; {first['page_size']} per page, anonymous; {first['repeat']} requests "
        f"each, interleaved, after {first['warmup_rounds']} warm-up rounds",
    ]
    widths = [30, 8, 8, 8, 8, 9]
    lines.append(
        _row(["database: request", "p50 ms", "p99 ms", "mean ms", "max ms", "query ms"], widths)
    )
    for r in done:
        for key, label in CASES:
            c = r["cases"][key]
            lines.append(
                _row(
                    [
                        f"{r['database']}: {label}",
                        f"{c['p50_ms']:.2f}",
                        f"{c['p99_ms']:.2f}",
                        f"{c['mean_ms']:.2f}",
                        f"{c['max_ms']:.2f}",
                        _ms(r.get("query_p50_ms", {}).get(key)),
                    ],
                    widths,
                )
            )
    for r in done:
        ratio = r["ratio_page200_vs_page1"]
        m = r["seeded"]["search_matches"]
        lines.append(
            f"   {r['database']}: page {r['deep_page']}/page 1 recent p50 "
            f"{ratio['recent']['p50']:.2f}x p99 {ratio['recent']['p99']:.2f}x, popular p50 "
            f"{ratio['popular']['p50']:.2f}x p99 {ratio['popular']['p99']:.2f}x; search p99 "
            f"{r['search_p99_ms']:.2f} ms ("
            + ", ".join(f"{q} {n} matches" for q, n in m.items())
            + f"); seeded in {r['seeded']['seed_s']:.1f} s, section {r['elapsed_s']:.0f} s"
        )
        q = r.get("query_ratio_page200_vs_page1", {})
        seeks = r.get("keyset_seeks", {})
        lines.append(
            f"   {r['database']}: the posts SELECT alone, page {r['deep_page']}/page 1: "
            + ", ".join(
                f"{sort} {q[sort]:.1f}x ("
                + ("seeks to the cursor" if seeks.get(sort) else "no seek: filters from the top")
                + ")"
                for sort in q
            )
        )
    for r in (board.get("sqlite"), board.get("postgres")):
        if r and "skipped" in r:
            lines.append(f"   {r.get('database', 'postgres')} skipped: {r['skipped']}")
    lines.append(
        "   keyset paging: ~1x means page 200 costs what page 1 does (the index seeks to the "
        "cursor); well above 1 means rows before the cursor are read and thrown away. query ms "
        "= median of the captured posts SELECT run alone (no HTTP, no images/authors/signing)."
    )
    for r in done:
        for key in r["flagged"]:
            keys = [f"search_{q}" for q in SEARCHES] if key == "search" else [f"{key}_page200"]
            for plan_key in keys:
                plan = r["plans"].get(plan_key)
                if plan:
                    lines.append(f"   {r['database']} plan, {plan_key} (flagged):")
                    lines += [f"     {line}" for line in plan]
    return lines


NOTE = (
    "Board listing: a fresh database per engine migrated by the API's migrations and seeded "
    f"with bulk inserts ({USERS} users, {POSTS} posts of Korean and English words over {DAYS} "
    f"days, {DELETED_SHARE:.0%} deleted and {HIDDEN_SHARE:.1%} hidden, one image row each, "
    f"{LIKES} likes with log-normal weights per post, like_count and hot to match, ANALYZE). "
    "Requests go through httpx's ASGITransport to create_app in the bench process (lifespan, "
    "Redis, local storage signing URLs, no viewer): routing, validation, PostService.list_posts "
    "(the posts query, then images and authors, URL signing in a thread), JSON. Page "
    f"{DEEP_PAGE} is fetched with the cursor got by following next_cursor from page 1 "
    "(checked: every post once). Every request kind once per round, rounds interleaved, so "
    "load changes hit all of them; p99 of 200 is the 2nd slowest. query ms = the posts SELECT "
    "captured from that request, re-run alone 50 times on the app's engine (median); plans: "
    "EXPLAIN QUERY PLAN (SQLite), EXPLAIN (ANALYZE, BUFFERS) (PostgreSQL). Search = q, page 1, "
    "~12% of posts match each query (title or body; title hits first, then newest); a "
    "2-character query such as 벽화 contains no whole trigram for a trigram index (FTS5 "
    "trigram on SQLite, pg_trgm GIN on PostgreSQL) to narrow on."
)


def _main(argv: list[str]) -> None:
    from infra.processes import REPO

    from .environment import Bench

    parser = argparse.ArgumentParser(prog="python -m bench.board_listing", description=__doc__)
    parser.add_argument("--repeat", type=int, default=REPEAT)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--output", type=Path, default=REPO / "var" / "bench" / "board_listing.json"
    )
    args = parser.parse_args(argv)

    def step(message: str) -> None:
        print(f"... {message}", file=sys.stderr, flush=True)

    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    bench = Bench()
    try:
        result = run(bench, args.repeat, not args.no_postgres, step, runner)
    finally:
        bench.close()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print("\n".join(render(result)[1:]))
    print(f"\ntotal {result['elapsed_s']:.0f} s; JSON: {args.output}")


if __name__ == "__main__":
    _main(sys.argv[1:])
