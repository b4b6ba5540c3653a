"""Alembic environment of the posture service: its own tables and version table."""

from saekdam_backbone.migrations import run_env
from saekdam_posture.db.models import PostureBase

run_env(PostureBase.metadata, version_table="alembic_version_posture")
