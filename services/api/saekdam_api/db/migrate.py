"""Bring a database to the API's newest schema: `python -m saekdam_api.db.migrate`
(`--wait SECONDS`: wait for the migration job instead, as the pods' init container does)."""

import sys
from pathlib import Path

from saekdam_backbone import migrations

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def upgrade(database_url: str) -> None:
    migrations.upgrade(MIGRATIONS, database_url)


VERSION_TABLE = "alembic_version"

if __name__ == "__main__":
    sys.exit(migrations.command_line(MIGRATIONS, VERSION_TABLE))
