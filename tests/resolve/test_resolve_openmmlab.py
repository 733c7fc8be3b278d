"""The built-in OpenMMLab recipes (mmdetection 2.28.2, mmsegmentation 0.30.0, mmcv-full 1.7.2) x hosts.

Each faithful plan's torch and CUDA must be a pair OpenMMLab published an mmcv-full 1.7.x wheel for: the expected
column below is written from mmcv's installation table (not read from legacyrun's knowledge base), and the plan
must also agree with the knowledge base and say so in its reasons.
"""

from __future__ import annotations

import json

import pytest
from resolve.test_resolve_table import check_invariants

from legacyrun.errors import ResolveError
from legacyrun.host import assumed_host
from legacyrun.knowledge import kb
from legacyrun.knowledge.base import DATA
from legacyrun.recipe.loader import LoadedRecipe, load_path
from legacyrun.recipe.refs import builtin_dir
from legacyrun.resolve.engine import resolve

# mmcv 1.7.x docs, "Install with pip": torch minor -> CUDA variants with an mmcv-full wheel
OPENMMLAB_MATRIX = {
    "1.13": {"11.7", "11.6", "cpu"},
    "1.12": {"11.6", "11.3", "10.2", "cpu"},
    "1.11": {"11.5", "11.3", "10.2", "cpu"},
    "1.10": {"11.3", "11.1", "10.2", "cpu"},
    "1.9": {"11.1", "10.2", "cpu"},
    "1.8": {"11.1", "10.2", "10.1", "cpu"},
    "1.7": {"11.0", "10.2", "10.1", "9.2", "cpu"},
    "1.6": {"10.2", "10.1", "9.2", "cpu"},
}

# (gpu or None for --cpu, driver, profile, torch, CUDA)
HOSTS = [
    ("RTX 3090", "460.32.03", "faithful", "1.13.1", "11.6"),  # the example: 11.x minor compatibility
    ("V100", "418.67", "faithful", "1.8.1", "10.1"),  # the example: CUDA 10.1 driver, no minor compat
    ("K80", "470.82.01", "faithful", "1.13.1", "11.6"),  # the FAQ's arch case: sm_37 still in torch 1.13 cu116
    ("P100", "450.80.02", "faithful", "1.13.1", "11.6"),
    ("T4", "535.104.05", "faithful", "1.13.1", "11.7"),
    ("A100", "535.129.03", "faithful", "1.13.1", "11.7"),
    ("GTX 1080 Ti", "430.64", "faithful", "1.8.1", "10.1"),
    ("RTX 2080 Ti", "440.33", "faithful", "1.12.1", "10.2"),
    ("Titan Xp", "410.48", "faithful", "1.7.1", "9.2"),  # CUDA 10.0 driver: mmcv-full had no cu100 wheels
    ("H100", "550.54.15", "modern", None, None),  # torch 1.13 stops at sm_86: torch 2.x, a source build
    (None, None, "faithful", "1.13.1", None),
]


def _recipe(name: str) -> LoadedRecipe:
    return load_path(builtin_dir() / f"{name}.yaml")


@pytest.mark.parametrize("recipe", ["mmdetection", "mmsegmentation"])
@pytest.mark.parametrize(("gpu", "driver", "profile", "torch", "cuda"), HOSTS)
def test_faithful_plans_follow_openmmlab_matrix(
    recipe: str, gpu: str | None, driver: str | None, profile: str, torch: str | None, cuda: str | None
) -> None:
    res = resolve(_recipe(recipe), assumed_host(gpu, driver, cpu=gpu is None))
    check_invariants(res)
    assert res.profile == profile, res.reasons
    window = kb().mmcv_for("1.7.2")
    assert window is not None
    mmcv_lines = [r for r in res.reasons if r.startswith("mmcv-full 1.7.2:")]
    assert len(mmcv_lines) == 1
    accepts = "mmdet" if recipe == "mmdetection" else "mmsegmentation"
    assert any(r.startswith(f"{accepts} accepts mmcv-full") and "1.7.2 fits" in r for r in res.reasons)
    if profile == "modern":
        assert "no published wheel" in mmcv_lines[0] and res.torch.startswith("2.")
        return
    assert (res.torch, res.cuda) == (torch, cuda)
    minor = ".".join(res.torch.split(".")[:2])
    assert (res.cuda or "cpu") in OPENMMLAB_MATRIX[minor]
    assert window.has_wheel(res.torch, res.cuda)
    assert "published wheels" in mmcv_lines[0]


def test_knowledge_matrix_is_openmmlabs() -> None:
    window = kb().mmcv_for("1.7.2")
    assert window is not None and window.source in kb().sources
    assert {k: set(v) for k, v in window.wheels.items()} == OPENMMLAB_MATRIX
    # torch 1.11 + CUDA 11.1 exists (conda) but mmcv never built it: the resolver must not pick it
    assert not window.has_wheel("1.11.0", "11.1") and window.has_wheel("1.11.0", "11.3")
    assert kb().mmcv_requirement("mmdet", "2.28.2").mmcv_full == ">=1.3.17,<=1.8.0"  # type: ignore[union-attr]
    assert kb().mmcv_requirement("mmsegmentation", "0.30.0").mmcv_full == ">=1.3.13,<1.8.0"  # type: ignore[union-attr]
    data = json.loads((DATA / "openmmlab.json").read_text())
    assert all(row["source"] for row in data["requires"])


def test_codebase_rejecting_the_mmcv_pin_is_a_resolve_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = (builtin_dir() / "mmdetection.yaml").read_text()
    # mmdet 2.24.0 asserts mmcv-full < 1.6.0
    path = tmp_path / "mmdetection.yaml"
    path.write_text(text.replace("version: 2.28.2", "version: 2.24.0", 1))
    with pytest.raises(ResolveError, match=r"mmdet 2\.24\.0 asserts mmcv-full >=1\.3\.17,<1\.6\.0"):
        resolve(load_path(path), assumed_host("V100", "470.57.02", cpu=False))
