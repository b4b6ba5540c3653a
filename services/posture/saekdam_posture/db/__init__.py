"""The posture service's own tables, with their own Alembic history."""
