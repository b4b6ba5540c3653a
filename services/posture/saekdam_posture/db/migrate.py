"""Bring the posture tables to the newest schema: `python -m saekdam_posture.db.migrate`."""

import os
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")


if __name__ == "__main__":
    from saekdam_backbone.settings import BackboneSettings

    upgrade(os.environ.get("DATABASE_URL") or BackboneSettings().database_url)
