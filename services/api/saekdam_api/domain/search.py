"""Board search: posts whose title or body contains the query, Korean and English alike.

A substring match ("벽화" finds "벽화를"), answered from a trigram index on each database:
FTS5's trigram tokenizer on SQLite, pg_trgm's GIN index on PostgreSQL (migration 0003).
Ranked: title matches first, then newest.
"""

from sqlalchemy import ColumnElement, Integer, case, select, text

from ..db.board import Post

MAX_QUERY_CHARS = 100


def like_pattern(query: str) -> str:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def matches(dialect: str, query: str) -> ColumnElement[bool]:
    pattern = like_pattern(query)
    if dialect == "sqlite":
        # FTS5 answers LIKE from its trigram index only without ESCAPE, and (SQLite 3.40)
        # wrongly finds nothing for patterns under 3 characters there: use the index for
        # plain queries of 3+ characters, the exact (scanning) ESCAPE form otherwise.
        plain = len(query) >= 3 and not any(c in query for c in "%_\\")
        condition = "posts_search.text LIKE :pattern" + ("" if plain else " ESCAPE '\\'")
        indexed = (
            select(text("post_id"))
            .select_from(text("posts_search"))
            .where(text(condition).bindparams(pattern=pattern))
        )
        return Post.id.in_(indexed)
    return (Post.title + " " + Post.body).ilike(pattern, escape="\\")


def title_rank(dialect: str, query: str) -> ColumnElement[int]:
    """1 when the title contains the query, else 0: the first sort key of a search."""
    pattern = like_pattern(query)
    hit = (
        Post.title.like(pattern, escape="\\")
        if dialect == "sqlite"  # SQLite's LIKE is already case-insensitive for ASCII
        else Post.title.ilike(pattern, escape="\\")
    )
    return case((hit, 1), else_=0).cast(Integer)
