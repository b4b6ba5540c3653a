"""the board: posts, images, comments, likes, views, reports, search index; users can be
disabled and usernames are unique (public profiles are addressed by them)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# SQLite: an FTS5 table with the trigram tokenizer, kept in step by triggers; a LIKE
# '%q%' on it is answered from the index for any substring of 3+ characters, Korean included.
_SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE posts_search USING fts5(post_id UNINDEXED, text, tokenize='trigram')",
    """CREATE TRIGGER posts_search_insert AFTER INSERT ON posts BEGIN
        INSERT INTO posts_search (post_id, text) VALUES (new.id, new.title || ' ' || new.body);
    END""",
    """CREATE TRIGGER posts_search_update AFTER UPDATE OF title, body ON posts BEGIN
        UPDATE posts_search SET text = new.title || ' ' || new.body WHERE post_id = new.id;
    END""",
    """CREATE TRIGGER posts_search_delete AFTER DELETE ON posts BEGIN
        DELETE FROM posts_search WHERE post_id = old.id;
    END""",
]
# PostgreSQL: a trigram GIN index on the same text, used by ILIKE '%q%'.
_POSTGRES_SEARCH = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_posts_search_trgm ON posts USING gin ((title || ' ' || body) gin_trgm_ops)",
]


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(), nullable=True))
        batch_op.create_unique_constraint("uq_users_username", ["username"])

    op.create_table(
        "posts",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "author_id",
            sa.String(36),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("made_with", sa.JSON(), nullable=True),
        sa.Column("source_params", sa.JSON(), nullable=True),
        sa.Column("like_count", sa.Integer(), nullable=False),
        sa.Column("comment_count", sa.Integer(), nullable=False),
        sa.Column("view_count", sa.Integer(), nullable=False),
        sa.Column("hot", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("hidden_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_posts_recent", "posts", ["created_at", "id"])
    op.create_index("ix_posts_hot", "posts", ["hot", "id"])
    op.create_index("ix_posts_author", "posts", ["author_id", "created_at"])

    op.create_table(
        "post_images",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "post_id", sa.String(36), sa.ForeignKey("posts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(256), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("thumbnail_key", sa.String(256), nullable=False),
        sa.Column("thumbnail_width", sa.Integer(), nullable=False),
        sa.Column("thumbnail_height", sa.Integer(), nullable=False),
        sa.Column("source_task_id", sa.String(36), nullable=True),
    )
    op.create_index("ix_post_images_post_id", "post_images", ["post_id"])

    op.create_table(
        "comments",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "post_id", sa.String(36), sa.ForeignKey("posts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "author_id",
            sa.String(36),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("hidden_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_comments_post_created", "comments", ["post_id", "created_at", "id"])

    op.create_table(
        "likes",
        sa.Column(
            "post_id", sa.String(36), sa.ForeignKey("posts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("post_id", "user_id"),
    )
    op.create_index("ix_likes_user_id", "likes", ["user_id"])

    op.create_table(
        "post_views",
        sa.Column(
            "post_id", sa.String(36), sa.ForeignKey("posts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("viewer", sa.String(80), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("post_id", "viewer", "day"),
    )

    op.create_table(
        "reports",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "post_id", sa.String(36), sa.ForeignKey("posts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "reporter_id",
            sa.String(36),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_reports_post_id", "reports", ["post_id"])

    search = _SQLITE_SEARCH if op.get_bind().dialect.name == "sqlite" else _POSTGRES_SEARCH
    for statement in search:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS posts_search")
    for table in ("reports", "post_views", "likes", "comments", "post_images", "posts"):
        op.drop_table(table)
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_constraint("uq_users_username", type_="unique")
        batch_op.drop_column("disabled_at")
