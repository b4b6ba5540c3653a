import sys
from pathlib import Path

# `.venv/bin/pytest` (unlike `python -m pytest`) does not put the repository root on sys.path,
# and the shared fixture plugins below are imported from it.
sys.path.insert(0, str(Path(__file__).parent))

pytest_plugins = [
    "tests.fixtures.s3",
    "tests.fixtures.services",
    "tests.fixtures.system",
    "tests.fixtures.models",
    "tests.fixtures.push",
    "tests.fixtures.browser",
]
