"""pyproject.toml's runtime dependencies carry the upper bounds the tests have proven.

Each bound is at most the next major above the installed (tested) version, or the next minor for a 0.x package:
a release the suite never ran against is not allowed in. The installed versions must satisfy the specifiers, so
the suite always runs inside the range it vouches for.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.version import Version


def _requirements(repo_root: Path) -> list[Requirement]:
    data = tomllib.loads((repo_root / "pyproject.toml").read_text(encoding="utf-8"))
    return [Requirement(text) for text in data["project"]["dependencies"]]


def _next_release_line(installed: Version) -> Version:
    """The first version the tests have not vouched for: the next major, or the next minor below 1.0."""
    if installed.major == 0:
        return Version(f"0.{installed.minor + 1}")
    return Version(f"{installed.major + 1}")


def test_every_runtime_dependency_has_an_upper_bound(repo_root: Path) -> None:
    reqs = _requirements(repo_root)
    assert reqs
    unbounded = [str(r) for r in reqs if not any(s.operator in ("<", "<=", "==", "~=") for s in r.specifier)]
    assert not unbounded, f"runtime dependencies without an upper bound: {unbounded}"


def test_installed_versions_fit_and_bounds_go_no_further_than_tested(repo_root: Path) -> None:
    for req in _requirements(repo_root):
        try:
            installed = Version(version(req.name))
        except PackageNotFoundError:
            pytest.fail(f"{req.name} is a runtime dependency but is not installed in the test environment")
        assert req.specifier.contains(installed, prereleases=True), f"{req.name} {installed} is outside {req}"
        limit = _next_release_line(installed)
        for spec in req.specifier:
            if spec.operator == "<":
                assert Version(spec.version) <= limit, (
                    f"{req}: bound {spec.version} allows releases past {limit}, which the tests (on {installed}) "
                    "have not run against"
                )
