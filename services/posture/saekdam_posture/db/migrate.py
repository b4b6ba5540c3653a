"""Bring the posture tables to the newest schema: `python -m saekdam_posture.db.migrate`."""

import os
from pathlib import Path

from saekdam_backbone import migrations

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def upgrade(database_url: str) -> None:
    migrations.upgrade(MIGRATIONS, database_url)


if __name__ == "__main__":
    from saekdam_backbone.settings import BackboneSettings

    upgrade(os.environ.get("DATABASE_URL") or BackboneSettings().database_url)
