"""API-owned tables (users, uploads) and the Alembic migrations for the whole schema."""
