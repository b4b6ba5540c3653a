"""The images' lock files (infra/locks.py): present, compiled from the current pyprojects, every
line pinned with hashes, the security floors kept, and each Dockerfile installing from its lock
with --require-hashes. Fast and offline: nothing here compiles a lock."""

import re
import shutil
from pathlib import Path

import pytest

from infra import locks
from infra.locks import LOCKS, REPO, SECURITY_FLOORS


def _lock_id(lock: locks.Lock) -> str:
    return lock.name


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The files the checks read, copied into tmp_path at the same relative paths."""
    files = {f"{s}/pyproject.toml" for lock in LOCKS for s in lock.sources}
    files |= {lock.lock for lock in LOCKS} | {lock.dockerfile for lock in LOCKS}
    for name in files:
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / name, target)
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_everything_holds() -> None:
    problems = locks.check(REPO)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lock", LOCKS, ids=_lock_id)
def test_lock_exists_and_matches_its_pyprojects(lock: locks.Lock) -> None:
    path = REPO / lock.lock
    assert path.is_file(), f"{lock.lock} is missing: run `make lock`"
    text = path.read_text(encoding="utf-8")
    for source in lock.sources:
        assert f"#   {source}/pyproject.toml" in text.split("\n# sources-sha256:")[0]
    match = re.search(r"^# sources-sha256: ([0-9a-f]{64})$", text, re.MULTILINE)
    assert match, f"{lock.lock} has no sources-sha256 header: run `make lock`"
    assert match.group(1) == locks.sources_digest(REPO, lock), (
        f"{lock.lock} is stale (a pyproject's dependencies changed): run `make lock`"
    )


@pytest.mark.parametrize("lock", LOCKS, ids=_lock_id)
def test_every_line_is_pinned_with_a_hash(lock: locks.Lock) -> None:
    text = (REPO / lock.lock).read_text(encoding="utf-8")
    entries = locks.requirements(text)
    assert len(entries) > 10
    for entry in entries:
        assert re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?==\S+", entry), entry
        assert "--hash=sha256:" in entry, entry
    assert not locks.line_problems(text, lock.lock, locks.local_names(REPO, lock))
    # The local packages are installed from their folders, never from the lock (or the index).
    assert not any(name.startswith("saekdam-") for name in locks.pins(text))


def test_worker_lock_is_for_the_image_platform() -> None:
    """torch from the default index for linux x86_64 brings its CUDA libraries and triton."""
    pinned = locks.pins((REPO / "services/model_worker/requirements.lock").read_text())
    assert "torch" in pinned and "+" not in pinned["torch"]  # no local (+cpu/+cuXXX) build
    assert "triton" in pinned
    assert any(name.startswith("nvidia-") for name in pinned)


@pytest.mark.parametrize(
    ("package", "floor"), sorted(SECURITY_FLOORS.items()), ids=sorted(SECURITY_FLOORS)
)
def test_security_floors_hold(package: str, floor: str) -> None:
    from packaging.version import Version

    found = []
    for source in sorted({s for lock in LOCKS for s in lock.sources}):
        text = (REPO / source / "pyproject.toml").read_text(encoding="utf-8")
        name = rf'"{re.escape(package)}(\[[^\]]*\])?(?![A-Za-z0-9._-])([^"]*)"'
        for match in re.finditer(name, text, re.I):
            bound = re.search(r">=\s*([0-9][^,\s]*)", match.group(2))
            assert bound, f"{source}/pyproject.toml: {match.group(0)} has no >= floor"
            assert Version(bound.group(1)) >= Version(floor), (
                f"{source}/pyproject.toml: {match.group(0)} is below {floor}"
            )
            found.append(source)
    assert found, f"no pyproject requires {package}"
    assert not locks.floor_problems(REPO)


@pytest.mark.parametrize("lock", LOCKS, ids=_lock_id)
def test_dockerfile_installs_from_its_lock(lock: locks.Lock) -> None:
    text = (REPO / lock.dockerfile).read_text(encoding="utf-8")
    assert f"COPY {lock.lock} {lock.lock}" in text
    joined = re.sub(r"\\\n\s*", " ", text)
    assert re.search(
        rf"pip install --require-hashes --no-deps -r {re.escape(lock.lock)}\b", joined
    ), f"{lock.dockerfile} does not install {lock.lock} with --require-hashes"
    assert not locks.dockerfile_problems(REPO, lock)


# --- the checks catch what they are for -------------------------------------------------------


def test_a_changed_dependency_makes_the_lock_stale(copy: Path) -> None:
    assert locks.check(copy) == []
    _edit(copy / "services/api/pyproject.toml", '"alembic>=1.13",', '"alembic>=1.14",')
    problems = locks.check(copy)
    # The API's lock only (the others do not read its pyproject), and only its header: the
    # pinned alembic still satisfies the new requirement.
    assert len(problems) == 1, problems
    assert problems[0].startswith("services/api/requirements.lock is stale")
    assert "services/api/pyproject.toml" in problems[0]
    assert "run `make lock`" in problems[0]


def test_a_shared_package_change_makes_every_lock_using_it_stale(copy: Path) -> None:
    _edit(
        copy / "packages/backbone/pyproject.toml",
        '"boto3>=1.34",',
        '"boto3>=1.34",\n    "pendulum>=3",',
    )
    problems = locks.check(copy)
    for lock in LOCKS:
        assert any(p.startswith(f"{lock.lock} is stale") and "make lock" in p for p in problems)
        assert any(p.startswith(f"{lock.lock} does not pin pendulum") for p in problems)


def test_a_new_dependency_is_missing_from_the_lock_even_with_a_forged_header(copy: Path) -> None:
    pyproject = copy / "services/posture/pyproject.toml"
    _edit(pyproject, '"alembic>=1.13",', '"alembic>=1.13",\n    "httpx>=0.27",')
    lock = next(lock for lock in LOCKS if lock.name == "posture")
    path = copy / lock.lock
    text = re.sub(
        r"^# sources-sha256: .*$",
        f"# sources-sha256: {locks.sources_digest(copy, lock)}",
        path.read_text(),
        flags=re.MULTILINE,
    )
    path.write_text(text)
    assert locks.check(copy) == [
        f"{lock.lock} does not pin httpx (services/posture): run `make lock` "
        "(python -m infra.locks update) and commit the lock files"
    ]


def test_a_pin_the_pyproject_rejects_is_caught(copy: Path) -> None:
    lock = copy / "services/api/requirements.lock"
    text = lock.read_text()
    version = locks.pins(text)["python-multipart"]
    lock.write_text(text.replace(f"python-multipart=={version}", "python-multipart==0.0.20"))
    problems = locks.check(copy)
    assert any(
        "python-multipart==0.0.20, which services/api does not accept" in p for p in problems
    )
    assert any("below its floor 0.0.31" in p for p in problems)


def test_a_missing_lock_is_caught(copy: Path) -> None:
    (copy / "services/model_worker/requirements.lock").unlink()
    assert any(
        p.startswith("services/model_worker/requirements.lock is missing") and "make lock" in p
        for p in locks.check(copy)
    )


def test_unpinned_or_unhashed_lines_are_caught() -> None:
    good = "six==1.17.0 \\\n    --hash=sha256:" + "a" * 64 + "\n    # via x\n"
    assert locks.line_problems(good, "x.lock") == []
    assert locks.line_problems("six>=1.16 \\\n    --hash=sha256:" + "a" * 64, "x.lock") == [
        "x.lock: not pinned with ==: six>=1.16"
    ]
    assert locks.line_problems("six==1.17.0\n", "x.lock") == [
        "x.lock: six==1.17.0 has no --hash=sha256:"
    ]
    assert locks.line_problems("-e ./packages/web\n", "x.lock") == [
        "x.lock: an option line, not a pinned requirement: -e"
    ]
    assert locks.line_problems(
        good + "saekdam-web==0.1.0 --hash=sha256:" + "b" * 64, "x.lock", ["saekdam-web"]
    ) == ["x.lock: the local package saekdam-web is locked (it must not be)"]


def test_a_lowered_security_floor_is_caught(copy: Path) -> None:
    _edit(copy / "services/model_worker/pyproject.toml", '"torch>=2.10.0,', '"torch>=2.4,')
    assert any(
        "services/model_worker/pyproject.toml: 'torch>=2.4,<=2.14.1' allows torch below 2.10.0" in p
        for p in locks.check(copy)
    )


def test_a_dockerfile_that_resolves_on_its_own_is_caught(copy: Path) -> None:
    dockerfile = copy / "services/posture/Dockerfile"
    _edit(dockerfile, "--require-hashes ", "")
    problems = locks.check(copy)
    assert problems == [
        "services/posture/Dockerfile: no `pip install --require-hashes -r "
        "services/posture/requirements.lock` (install the third-party packages from the lock only)"
    ]
    shutil.copyfile(REPO / "services/posture/Dockerfile", dockerfile)
    _edit(dockerfile, "--no-cache-dir --no-deps --no-build-isolation", "--no-cache-dir")
    assert any("a pip install without --no-deps" in p for p in locks.check(copy))
