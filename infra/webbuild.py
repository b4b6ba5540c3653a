"""The web client's build (services/web), made when missing or older than its sources.

`make run` calls `ensure_built()` before it starts the web client's server; `python -m
infra.webbuild` does the same alone. Needs Node 20+ and npm: `npm ci` installs exactly the
committed package-lock.json, then `npm run build` writes services/web/dist.
"""

import shutil
import subprocess
import sys
from pathlib import Path

from infra.processes import REPO

WEB = REPO / "services" / "web"
DIST = WEB / "dist"
# What the build reads: a change to any of these makes `dist` stale.
SOURCES = (
    "src",
    "public",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
)
NODE_MAJOR = 20


def _newest(paths: list[Path]) -> float:
    newest = 0.0
    for path in paths:
        if path.is_dir():
            newest = max([newest, *(p.stat().st_mtime for p in path.rglob("*") if p.is_file())])
        elif path.exists():
            newest = max(newest, path.stat().st_mtime)
    return newest


def check_node() -> str:
    """npm's path; a clear error when Node is missing or older than NODE_MAJOR."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise SystemExit(
            f"the web client needs Node {NODE_MAJOR}+ and npm (https://nodejs.org, or your "
            "package manager's nodejs and npm); neither was found on PATH"
        )
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < NODE_MAJOR:
        raise SystemExit(f"the web client needs Node {NODE_MAJOR}+, found {version}")
    return npm


def ensure_installed(npm: str) -> None:
    """`npm ci` when node_modules is missing or older than the lock file."""
    installed = WEB / "node_modules" / ".package-lock.json"
    lock = WEB / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True)


def ensure_built() -> Path:
    """services/web/dist, built first when missing or stale."""
    index = DIST / "index.html"
    if index.exists() and index.stat().st_mtime >= _newest([WEB / s for s in SOURCES]):
        return DIST
    npm = check_node()
    ensure_installed(npm)
    print("building the web client (services/web) ...", file=sys.stderr, flush=True)
    subprocess.run([npm, "run", "build"], cwd=WEB, check=True)
    return DIST


if __name__ == "__main__":
    print(ensure_built())
