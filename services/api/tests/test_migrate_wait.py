"""New pods wait for the migration job: `migrate --wait` passes only at the newest revision."""

import os
import subprocess
import sys

from infra.processes import REPO, migrate
from saekdam_api.db.migrate import MIGRATIONS
from saekdam_backbone.migrations import head_revision, wait_for_head


def test_waiting_passes_only_once_the_database_is_at_the_newest_revision(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    assert not wait_for_head(MIGRATIONS, url, timeout_s=0.3, poll_s=0.1)
    migrate(url)
    assert head_revision(MIGRATIONS) is not None
    assert wait_for_head(MIGRATIONS, url, timeout_s=5, poll_s=0.1)


def test_the_init_container_command_says_why_it_waits(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    waited = subprocess.run(
        [sys.executable, "-m", "saekdam_api.db.migrate", "--wait", "0.5"],
        env={**os.environ, "DATABASE_URL": url},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert waited.returncode == 1
    assert "gave up waiting" in waited.stderr and head_revision(MIGRATIONS) in waited.stderr
