"""`run --gpus 1` after `up --gpus 2`: the adapt commit is replaced by the one for the run's GPUs (its own commit),
or, when the sources live in a docker image, the run is refused with the command that re-adapts (issue 13)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from patching.patchkit import Project, git
from patching.test_adapt import ADAPT

from legacyrun.errors import PatchError
from legacyrun.patching.engine import applied_ids, apply, plan_patches
from legacyrun.patching.target import target_from_resolution
from legacyrun.resolution import GpuInfo, HostInfo, Resolution
from legacyrun.run.gpus import select_gpus
from legacyrun.usecases.run import readapt


def _resolution(recipe_hash: str) -> Resolution:
    return Resolution(
        recipe="legacy", recipe_hash=recipe_hash, profile="modern", python="3.11", torch="2.1", host=HostInfo()
    )


def _visible(n: int) -> list[GpuInfo]:
    return [GpuInfo(name="T4", index=str(i), memory_mib=15360) for i in range(n)]


def test_a_new_count_is_adapted_as_its_own_commit(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(adapt=ADAPT)
    res = _resolution(loaded.hash)
    apply(plan_patches(loaded, p.ws, target_from_resolution(res, 2)))
    assert applied_ids(p.src, p.pinned) == ["adapt-gpus-2"]
    assert "IMS_PER_BATCH: 4 " in (p.src / "configs/base.yaml").read_text()

    # same count: nothing to do
    assert readapt(loaded, p.ws, res, select_gpus("2", _visible(4)), sources_in_env=False) is None

    note = readapt(loaded, p.ws, res, select_gpus("1", _visible(4)), sources_in_env=False)
    assert note == "re-adapted proj: adapt-gpus-2 -> adapt-gpus-1"
    assert applied_ids(p.src, p.pinned) == ["adapt-gpus-1"]
    assert "IMS_PER_BATCH: 2 " in (p.src / "configs/base.yaml").read_text()
    assert git(p.src, "log", "-1", "--format=%s") == "legacyrun: adapt-gpus-1"


def test_sources_in_an_image_are_refused_with_the_command(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(adapt=ADAPT)
    res = _resolution(loaded.hash)
    apply(plan_patches(loaded, p.ws, target_from_resolution(res, 2)))
    with pytest.raises(PatchError) as info:
        readapt(loaded, p.ws, res, select_gpus("1", _visible(4)), sources_in_env=True, spec="1")
    assert "adapt-gpus-2" in info.value.message and "adapt-gpus-1" in info.value.message
    hint = info.value.hint or ""
    assert "legacyrun up" in hint and "--gpus 1" in hint  # the recipe as the user named it (invocation)
    assert applied_ids(p.src, p.pinned) == ["adapt-gpus-2"]


def test_an_unpatched_tree_is_left_alone(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(adapt=ADAPT)
    assert readapt(loaded, p.ws, _resolution(loaded.hash), select_gpus("1", _visible(1)), sources_in_env=False) is None
    assert applied_ids(p.src, p.pinned) == []
