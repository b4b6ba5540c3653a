"""posture tables

Revision ID: p0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "p0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "posture_calibrations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("setup", sa.String(length=40), nullable=False),
        sa.Column("baseline", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "setup", name="uq_posture_calibration_setup"),
    )
    op.create_table(
        "posture_sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("setup", sa.String(length=40), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("state_seconds", sa.JSON(), nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.Column("longest_good_streak_s", sa.Float(), nullable=False),
        sa.Column("timeline", sa.JSON(), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("dropped_frames", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("posture_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_posture_sessions_user_started", ["user_id", "started_at"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("posture_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_posture_sessions_user_started")

    op.drop_table("posture_sessions")
    op.drop_table("posture_calibrations")
