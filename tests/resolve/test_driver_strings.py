"""Driver strings (issue 13): `--driver 418` is the 418 branch, any 418.x; every driver minimum and branch in the
knowledge base is checked with the full version, the branch, the version just below and the branch below."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import legacyrun.knowledge
from legacyrun.host import assumed_host
from legacyrun.knowledge import kb
from legacyrun.knowledge.base import driver_at_least, minor, version_key
from legacyrun.resolve.engine import _check_driver

CUDA = json.loads((Path(legacyrun.knowledge.__file__).parent / "data" / "cuda.json").read_text())
MINIMA = [(r["cuda"], r["linux_min_driver"]) for r in CUDA["driver_min"]]
COMPAT = [(r["cuda_major"], r["min_driver"]) for r in CUDA["minor_version_compat"]]


def _below(version: str) -> str:
    """The release just below: 418.39 -> 418.38; 570.26 -> 570.25; a .0 part borrows from the one before."""
    parts = [int(p) for p in version.split(".")]
    i = len(parts) - 1
    while i > 0 and parts[i] == 0:
        i -= 1
    parts[i] -= 1
    return ".".join(str(p) for p in parts)


@pytest.mark.parametrize(("cuda", "minimum"), MINIMA, ids=[c for c, _ in MINIMA])
def test_every_toolkit_minimum(cuda: str, minimum: str) -> None:
    branch = minimum.split(".", maxsplit=1)[0]
    assert driver_at_least(minimum, minimum)
    assert driver_at_least(branch, minimum), f"--driver {branch} means {branch}.x"
    assert not driver_at_least(_below(minimum), minimum)
    assert not driver_at_least(str(int(branch) - 1), minimum)
    # The newest toolkit a driver runs is at least this one's minor, on the full version and on the branch alone.
    for given in (minimum, branch):
        newest = kb().max_cuda_for_driver(given)
        assert newest is not None and version_key(newest) >= version_key(minor(cuda)), (given, newest)
    if kb().driver_min(cuda) == minimum:
        assert _check_driver(branch, cuda)[:2] == (True, True)


@pytest.mark.parametrize(("major", "floor"), COMPAT, ids=[str(m) for m, _ in COMPAT])
def test_every_minor_compat_branch(major: int, floor: str) -> None:
    branch = floor.split(".", maxsplit=1)[0]
    newest = max((c for c, _ in MINIMA if version_key(c)[0] == major), key=version_key)
    ok, full, note, _need = _check_driver(branch, newest)
    assert ok, f"driver {branch} runs CUDA {major}.x under minor-version compatibility"
    if not full:
        assert note and "minor-version compatibility" in note
    assert not _check_driver(str(int(branch) - 1), f"{major}.0")[0]


@pytest.mark.parametrize(
    ("driver", "newest"),
    [("418", "10.1"), ("418.30", "10.0"), ("418.39", "10.1"), ("410", "10.0"), ("440", "10.2"), ("535", "12.2")],
)
def test_branch_against_patch_versions(driver: str, newest: str) -> None:
    assert kb().max_cuda_for_driver(driver) == newest
    assert assumed_host("V100", driver).cuda_driver_max == newest


def test_the_issue_case_picks_cuda_10_1() -> None:
    assert kb().max_cuda_for_driver("418") == "10.1"
