"""The service images' lock files: `python -m infra.locks check|update [--upgrade] [NAME ...]`.

Each image (services/<name>/Dockerfile) installs its third-party packages from
services/<name>/requirements.lock with `pip install --require-hashes --no-deps`, then its local
saekdam-* folders with `--no-deps`, so a build resolves nothing and every file it downloads is
checked against a sha256 from the lock. The locks are compiled by uv (`uv pip compile
--generate-hashes`) for the images' interpreter and platform (CPython 3.11.14 on linux/amd64,
glibc 2.36: python:3.11.14-slim-bookworm) whatever machine runs `make lock`, from the package
index alone: pip's configuration on this machine (extra indexes, local wheel folders, constraint
files) never reaches them.

The local packages are inputs, not pins: their dependencies are locked, they are not. pip and
setuptools are locked as well, since the images upgrade the base image's copies from the lock
and build the local packages with that setuptools (`--no-build-isolation`).

Each lock file begins with a header naming the pyproject files it was compiled from and a sha256
of their dependency lists (with their build requirements and the target), so `check` tells a
pyproject whose dependencies changed after the lock was made: then run `make lock`. `check` also
holds every lock line to an exact pin with hashes, the security floors below to the pyprojects
and the locks, and each Dockerfile to installing from its lock with `--require-hashes`.
tests/test_locks.py runs the same checks in `make test`.

`update` keeps the existing pins where the pyprojects still allow them (uv reads the old lock as
its preferences); `--upgrade` (`make lock UPGRADE=1`) moves every pin to the newest release.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# The images' base: `ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm` on linux/amd64. Debian
# bookworm has glibc 2.36, so wheels up to manylinux_2_36 run there.
PYTHON_VERSION = "3.11.14"
PYTHON_PLATFORM = "x86_64-manylinux_2_36"
TARGET = f"CPython {PYTHON_VERSION}, {PYTHON_PLATFORM} (python:3.11.14-slim-bookworm, linux/amd64)"

# Locked besides the pyprojects' dependencies and build requirements: the installer itself.
EXTRA_REQUIREMENTS = ("pip",)

REGENERATE = "run `make lock` (python -m infra.locks update) and commit the lock files"


@dataclass(frozen=True)
class Lock:
    """One image's lock file and the local packages (folders with a pyproject) it covers."""

    name: str
    dockerfile: str
    lock: str
    sources: tuple[str, ...]


LOCKS = (
    Lock(
        name="api",
        dockerfile="services/api/Dockerfile",
        lock="services/api/requirements.lock",
        sources=("packages/contracts", "packages/backbone", "packages/web", "services/api"),
    ),
    Lock(
        name="model_worker",
        dockerfile="services/model_worker/Dockerfile",
        lock="services/model_worker/requirements.lock",
        sources=("packages/contracts", "packages/backbone", "services/model_worker"),
    ),
    Lock(
        name="posture",
        dockerfile="services/posture/Dockerfile",
        lock="services/posture/requirements.lock",
        sources=("packages/contracts", "packages/backbone", "packages/web", "services/posture"),
    ),
)

# Lowest releases without a published advisory, for the packages that parse untrusted input
# (images, multipart bodies, tokens, model files). Every pyproject that names one of them must
# require at least this, and every lock must pin at least this. The highest fixed release at the
# time of writing that the development environments (.venv, .venv-posture) already had.
SECURITY_FLOORS = {
    # 13.0.0: the advisories published on 2026-10-20 against 12.3.0. Earlier: 12.3.0
    # (CVE-2026-54059, -54060, -55379, -55380, -55798), 12.2.0 (GHSA-wjx4-4jcj-g98j),
    # 12.1.1 (CVE-2026-25990, PSD out-of-bounds write), 10.3.0 (CVE-2024-28219).
    "pillow": "13.0.0",
    # 0.0.31: GHSA-v9pg-7xvm-68hf (CVE-2026-53540, negative Content-Length buffers the body).
    # Earlier: 0.0.30 (CVE-2026-53537, -53538, -53539), 0.0.27 (CVE-2026-42561), 0.0.26
    # (CVE-2026-40347), 0.0.22 (CVE-2026-24486), 0.0.18 (CVE-2024-53981).
    "python-multipart": "0.0.31",
    # 2.13.0: CVE-2026-48522 to -48526 (GHSA-xgmm-8j9v-c9wx HMAC/JWK algorithm confusion,
    # GHSA-jq35-7prp-9v3f, GHSA-993g-76c3-p5m4, GHSA-fhv5-28vv-h8m8, GHSA-w7vc-732c-9m39).
    # Earlier: 2.12.0 (CVE-2026-32597, crit header), 2.10.1 (CVE-2024-53861).
    "pyjwt": "2.13.0",
    # 2.10.0: CVE-2026-24747 (weights_only unpickler memory corruption, RCE) and CVE-2025-3001.
    # Earlier: 2.9.1 (CVE-2025-2999), 2.6.0 (CVE-2025-32434, torch.load RCE).
    "torch": "2.10.0",
}

_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")
_HEADER_HASH = re.compile(r"^# sources-sha256: ([0-9a-f]{64})$", re.MULTILINE)


def canonical(name: str) -> str:
    """A project name as the index compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = _NAME.match(requirement.strip())
    if not match:
        raise ValueError(f"not a requirement: {requirement!r}")
    return canonical(match.group(1))


def _pyproject(root: Path, source: str) -> dict:
    return tomllib.loads((root / source / "pyproject.toml").read_text(encoding="utf-8"))


def local_names(root: Path, lock: Lock) -> list[str]:
    return [canonical(_pyproject(root, s)["project"]["name"]) for s in lock.sources]


def sources_digest(root: Path, lock: Lock) -> str:
    """sha256 of what the lock is compiled from: each pyproject's dependency list and build
    requirements (whitespace aside), the extra requirements and the target interpreter."""
    entries = []
    for source in lock.sources:
        data = _pyproject(root, source)
        entries.append(
            {
                "pyproject": f"{source}/pyproject.toml",
                "dependencies": [
                    "".join(d.split()) for d in data["project"].get("dependencies", [])
                ],
                "build-requires": [
                    "".join(d.split()) for d in data.get("build-system", {}).get("requires", [])
                ],
            }
        )
    document = {
        "sources": entries,
        "extra": list(EXTRA_REQUIREMENTS),
        "python": PYTHON_VERSION,
        "platform": PYTHON_PLATFORM,
    }
    encoded = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()


def header(root: Path, lock: Lock) -> str:
    lines = [
        f"# {lock.lock}: the third-party packages of the {lock.name} image",
        f"# ({lock.dockerfile}), each pinned with the sha256 of every file the index has",
        "# for that release.",
        "# Generated by `make lock` (python -m infra.locks update, uv pip compile",
        "# --generate-hashes); do not edit by hand.",
        f"# Target: {TARGET}.",
        "# Compiled from (the local packages themselves are installed after it, --no-deps):",
        *(f"#   {source}/pyproject.toml" for source in lock.sources),
        f"# Also locked: {', '.join(EXTRA_REQUIREMENTS)}, and the local packages' build",
        "# requirements (they are built with --no-build-isolation).",
        f"# sources-sha256: {sources_digest(root, lock)}",
    ]
    return "\n".join(lines) + "\n"


def requirements(text: str) -> list[str]:
    """The lock's requirement entries, each with its continuation lines joined."""
    entries: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            line = ""
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            entries.append(" ".join(current.split()))
        current = ""
    if current.strip():
        entries.append(" ".join(current.split()))
    return entries


def pins(text: str) -> dict[str, str]:
    """Project name -> pinned version, for every well-formed entry of a lock."""
    found = {}
    for entry in requirements(text):
        match = _PIN.match(entry)
        if match:
            found[canonical(match.group(1))] = match.group(3)
    return found


def line_problems(text: str, where: str, local: list[str] = ()) -> list[str]:
    """Every entry is `name==version` with at least one --hash=sha256:, and no local package,
    editable install, path or URL is among them."""
    problems = []
    entries = requirements(text)
    if not entries:
        problems.append(f"{where}: no requirement at all")
    for entry in entries:
        first = entry.split()[0]
        if entry.startswith("-"):
            problems.append(f"{where}: an option line, not a pinned requirement: {first}")
            continue
        match = _PIN.match(entry)
        if not match:
            problems.append(f"{where}: not pinned with ==: {first}")
            continue
        name = canonical(match.group(1))
        if " @ " in entry or "file:" in entry or "://" in entry:
            problems.append(f"{where}: {name} comes from a path or URL, not the index")
        if name in local:
            problems.append(f"{where}: the local package {name} is locked (it must not be)")
        if not re.search(r"--hash=sha256:[0-9a-f]{64}\b", entry):
            problems.append(f"{where}: {name}=={match.group(3)} has no --hash=sha256:")
    return problems


def _lower_bound(requirement: str):
    from packaging.requirements import Requirement
    from packaging.version import Version

    bounds = [
        Version(spec.version.rstrip(".*"))
        for spec in Requirement(requirement).specifier
        if spec.operator in (">=", "==", "~=", "===", ">")
    ]
    return max(bounds) if bounds else None


def floor_problems(root: Path) -> list[str]:
    """The security floors hold in every pyproject that names the package, and somewhere."""
    from packaging.version import Version

    problems = []
    seen = set()
    sources = sorted({source for lock in LOCKS for source in lock.sources})
    for source in sources:
        for dependency in _pyproject(root, source)["project"].get("dependencies", []):
            name = requirement_name(dependency)
            floor = SECURITY_FLOORS.get(name)
            if floor is None:
                continue
            seen.add(name)
            bound = _lower_bound(dependency)
            if bound is None or bound < Version(floor):
                problems.append(
                    f"{source}/pyproject.toml: {dependency!r} allows {name} below {floor}, "
                    "which has published advisories (infra/locks.py SECURITY_FLOORS)"
                )
    for name in sorted(set(SECURITY_FLOORS) - seen):
        problems.append(f"no pyproject requires {name} any more: drop its SECURITY_FLOORS entry")
    return problems


def _satisfies(requirement: str, version: str) -> bool:
    from packaging.requirements import Requirement

    return Requirement(requirement).specifier.contains(version, prereleases=True)


def lock_problems(root: Path, lock: Lock) -> list[str]:
    """The lock exists, was compiled from the current pyprojects, and pins every dependency of
    theirs at a version they accept, with hashes."""
    path = root / lock.lock
    if not path.is_file():
        return [f"{lock.lock} is missing: {REGENERATE}"]
    text = path.read_text(encoding="utf-8")
    problems = []
    match = _HEADER_HASH.search(text)
    expected = sources_digest(root, lock)
    if match is None:
        problems.append(f"{lock.lock} has no '# sources-sha256:' header line: {REGENERATE}")
    elif match.group(1) != expected:
        problems.append(
            f"{lock.lock} is stale: the dependencies in "
            f"{', '.join(s + '/pyproject.toml' for s in lock.sources)} changed after it was "
            f"compiled: {REGENERATE}"
        )
    local = local_names(root, lock)
    problems += line_problems(text, lock.lock, local)
    pinned = pins(text)
    wanted = []
    for source in lock.sources:
        data = _pyproject(root, source)
        wanted += [(source, d) for d in data["project"].get("dependencies", [])]
        wanted += [(source, d) for d in data.get("build-system", {}).get("requires", [])]
    wanted += [("infra/locks.py", r) for r in EXTRA_REQUIREMENTS]
    for source, dependency in wanted:
        name = requirement_name(dependency)
        if name in local:
            continue
        version = pinned.get(name)
        if version is None:
            problems.append(f"{lock.lock} does not pin {name} ({source}): {REGENERATE}")
        elif not _satisfies(dependency, version):
            problems.append(
                f"{lock.lock} pins {name}=={version}, which {source} does not accept "
                f"({dependency!r}): {REGENERATE}"
            )
    for name, floor in SECURITY_FLOORS.items():
        if name in pinned and not _satisfies(f"{name}>={floor}", pinned[name]):
            problems.append(f"{lock.lock} pins {name}=={pinned[name]}, below its floor {floor}")
    return problems


def _instructions(dockerfile: str) -> list[str]:
    """The Dockerfile's instructions, continuation lines joined and comments dropped."""
    instructions: list[str] = []
    current = ""
    for raw in dockerfile.splitlines():
        line = raw.strip()
        if line.startswith("#") or not line:
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        instructions.append(" ".join((current + line).split()))
        current = ""
    if current:
        instructions.append(" ".join(current.split()))
    return instructions


def dockerfile_problems(root: Path, lock: Lock) -> list[str]:
    """The image copies its lock, installs it with --require-hashes (no resolving), and then
    installs only the local folders, with --no-deps."""
    path = root / lock.dockerfile
    if not path.is_file():
        return [f"{lock.dockerfile} is missing"]
    runs = [i for i in _instructions(path.read_text(encoding="utf-8")) if i.startswith("RUN ")]
    pip_runs = [r for r in runs if "pip install" in r]
    problems = []
    from_lock = [
        i
        for i, r in enumerate(pip_runs)
        if "--require-hashes" in r and re.search(rf"-r\s+(\./)?{re.escape(lock.lock)}\b", r)
    ]
    if not from_lock:
        problems.append(
            f"{lock.dockerfile}: no `pip install --require-hashes -r {lock.lock}` (install the "
            "third-party packages from the lock only)"
        )
        return problems
    if "--no-deps" not in pip_runs[from_lock[0]]:
        problems.append(f"{lock.dockerfile}: install {lock.lock} with --no-deps too")
    for index, run in enumerate(pip_runs):
        if index in from_lock:
            continue
        if "--no-deps" not in run:
            problems.append(f"{lock.dockerfile}: a pip install without --no-deps: {run[:120]}")
        elif index < from_lock[0]:
            problems.append(f"{lock.dockerfile}: a pip install before the lock's: {run[:120]}")
    installed = " ".join(r for i, r in enumerate(pip_runs) if i not in from_lock)
    for source in lock.sources:
        if f"./{source}" not in installed.split():
            problems.append(f"{lock.dockerfile}: does not install ./{source} with --no-deps")
    return problems


def check(root: Path = REPO, locks: tuple[Lock, ...] = LOCKS) -> list[str]:
    problems = floor_problems(root)
    for lock in locks:
        problems += lock_problems(root, lock)
        problems += dockerfile_problems(root, lock)
    return problems


def _uv() -> str:
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except ImportError:
        found = shutil.which("uv")
        if found is None:
            raise SystemExit("uv is not installed: `make lock` installs it into .venv") from None
        return found


def _uv_env() -> dict[str, str]:
    """The environment for uv: no extra index, local wheel folder or PyTorch backend (the locks
    take torch and everything else from the default index alone), no interpreter download."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
    for keep in ("UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_CACHE_DIR", "UV_NATIVE_TLS"):
        if keep in os.environ:
            env[keep] = os.environ[keep]
    env["UV_PYTHON_DOWNLOADS"] = "never"
    return env


def compile_lock(root: Path, lock: Lock, upgrade: bool = False) -> str:
    """The lock file's new text (header included), compiled by uv."""
    local = local_names(root, lock)
    build_requires = []
    for source in lock.sources:
        build_requires += _pyproject(root, source).get("build-system", {}).get("requires", [])
    inputs = [
        *(
            f"{name} @ {(root / source).resolve().as_uri()}"
            for name, source in zip(local, lock.sources, strict=True)
        ),
        *EXTRA_REQUIREMENTS,
        *dict.fromkeys(build_requires),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "requirements.lock"
        existing = root / lock.lock
        if existing.is_file() and not upgrade:
            shutil.copyfile(existing, output)  # uv keeps these pins where they still fit
        command = [
            _uv(),
            "pip",
            "compile",
            "-",
            "--output-file",
            str(output),
            "--generate-hashes",
            "--python-version",
            PYTHON_VERSION,
            "--python-platform",
            PYTHON_PLATFORM,
            "--python",
            sys.executable,  # builds the local packages' metadata; resolution targets the image
            "--no-config",
            "--no-header",
            "--quiet",
            *(arg for name in local for arg in ("--no-emit-package", name)),
        ]
        if upgrade:
            command.append("--upgrade")
        subprocess.run(
            command, input="\n".join(inputs) + "\n", text=True, check=True, env=_uv_env(), cwd=tmp
        )
        body = output.read_text(encoding="utf-8")
    return header(root, lock) + body


def update(root: Path = REPO, names: list[str] = (), upgrade: bool = False) -> None:
    unknown = set(names) - {lock.name for lock in LOCKS}
    if unknown:
        raise SystemExit(f"no such lock: {', '.join(sorted(unknown))}")
    for lock in LOCKS:
        if names and lock.name not in names:
            continue
        print(f"compiling {lock.lock} ...", flush=True)
        text = compile_lock(root, lock, upgrade=upgrade)
        (root / lock.lock).write_text(text, encoding="utf-8")
        print(f"  {len(pins(text))} packages, {len(text.splitlines())} lines", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.locks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("command", choices=("check", "update"))
    parser.add_argument(
        "names", nargs="*", help="update only these locks (api, model_worker, posture)"
    )
    parser.add_argument(
        "--upgrade", action="store_true", help="update: newest releases, not the old pins"
    )
    args = parser.parse_args(argv)
    if args.command == "update":
        update(REPO, args.names, upgrade=args.upgrade)
    problems = check(REPO)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{len(LOCKS)} lock files up to date")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
