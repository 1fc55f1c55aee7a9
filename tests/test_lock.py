"""The development lock file stays in step with pyproject.toml, and the setup installs from it.

pyproject.toml keeps open ranges for users; requirements-dev.lock pins every package of the
development and CI environment with hashes. Adding a dependency without re-locking
(`make lock`) fails here, before a fresh clone would miss the package.
"""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.helpers import REPO

LOCK = REPO / "requirements-dev.lock"
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)", re.M)


def pins() -> dict[str, list[Version]]:
    found: dict[str, list[Version]] = {}
    for match in PIN.finditer(LOCK.read_text(encoding="utf-8")):
        found.setdefault(canonicalize_name(match["name"]), []).append(Version(match["version"]))
    return found


def declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(r) for r in [*project["dependencies"],
                                     *project["optional-dependencies"]["dev"]]]


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    locked = pins()
    for requirement in declared():
        versions = locked.get(canonicalize_name(requirement.name))
        assert versions, f"{requirement.name} is in pyproject.toml but not in {LOCK.name}: make lock"
        for version in versions:
            assert version in requirement.specifier, (
                f"{LOCK.name} pins {requirement.name}=={version}, outside {requirement}: make lock")


def test_pyproject_ranges_stay_open_for_users() -> None:
    for requirement in declared():
        assert not any(s.operator in ("==", "===") for s in requirement.specifier), (
            f"pin {requirement} in {LOCK.name}, not in pyproject.toml")


def test_every_pin_has_a_hash() -> None:
    blocks = re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text(encoding="utf-8"))
    for block in blocks:
        if PIN.match(block):
            assert "--hash=sha256:" in block, f"no hash for {block.splitlines()[0]}"


def test_the_make_targets_install_from_the_lock() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "--require-hashes --no-deps -r $(LOCK)" in makefile
    assert f"LOCK := {LOCK.name}" in makefile
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")
