"""Alembic environment of the API's schema (users, uploads, tasks)."""

from saekdam_api.db import models  # noqa: F401  (registers every table)
from saekdam_backbone.db import Base
from saekdam_backbone.migrations import run_env

run_env(Base.metadata)
