"""Issue 16's must-show, at planning depth: `legacyrun up <mirror URL> --cpu --smoke --backend venv --pin
torch=2.14.1 --pin torchvision=0.29.1` on the three real repositories, with no recipe written by hand.

Mask2Former and MaskTextSpotter plan the whole chain to a smoke training run with nothing left to decide (the
scaffold found their framework, a smoke generator for their training data, the data root and the launcher);
FeatDepth stops with exactly 2 located decisions: the 5 absolute paths in its config (FILE:LINE in the source) and
the task without smoke settings (its line in recipe.yaml).

`--dry-run` stops before anything is fetched into the workspace or built: each would otherwise build a 5.5 GB torch
venv and compile the native ops (minutes each; the curated recipes' e2e in test_seed_recipes.py already trains
these projects on the same pins), so this file adds seconds to CI, not minutes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.cli import run_console_script
from support.scaffold_projects import PROJECTS
from support.upstream import make_mirror, mirror_rule

from legacyrun.errors import TodosRemain
from legacyrun.recipe.loader import load_path

pytestmark = [pytest.mark.realcode]

PINS = ["--pin", "torch=2.14.1", "--pin", "torchvision=0.29.1"]


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_mirror(tmp_path_factory.mktemp("must-show-mirror"))


def _up(name: str, mirror: Path, tmp: Path) -> tuple[object, Path]:
    ws = tmp / name
    env = {"LEGACYRUN_CACHE_DIR": str(tmp / "cache"), "LEGACYRUN_CONFIG_DIR": str(tmp / "config")}
    res = run_console_script(
        "up", PROJECTS[name], "--cpu", "--smoke", "--backend", "venv", *PINS, "--mirror", mirror_rule(mirror),
        "--dry-run", "--trust", "-w", str(ws), env=env, timeout=600,
    )  # fmt: skip
    return res, ws


@pytest.mark.parametrize(
    ("name", "generator"),
    [("mask2former", "ade20k-semseg -> smoke/detectron2/ADEChallengeData2016"),
     ("masktextspotter", "synthtext-chars -> smoke/maskrcnn_benchmark/synthtext")],
)  # fmt: skip
def test_plans_a_smoke_training_with_nothing_left(mirror: Path, tmp_path: Path, name: str, generator: str) -> None:
    res, ws = _up(name, mirror, tmp_path)
    assert res.exit_code == 0, res.stderr[-4000:]  # type: ignore[attr-defined]
    err = res.stderr  # type: ignore[attr-defined]
    assert "(0 TODO items)" in err
    assert "profile modern: python 3.11, torch 2.14.1, CPU" in err
    assert f"smoke-data  planned    0.00s  would run: {generator}" in err
    assert re.search(r"run +planned .* task train on 1 process", err)
    recipe = load_path(ws / "recipe.yaml").recipe
    assert recipe.tasks["train"].smoke is not None and recipe.default_task == "train"
    assert not (ws / "env").exists() and not (ws / "src").exists()  # planning only


def test_featdepth_stops_with_two_located_decisions(mirror: Path, tmp_path: Path) -> None:
    res, ws = _up("featdepth", mirror, tmp_path)
    assert res.exit_code == TodosRemain.exit_code == 13, res.stderr[-4000:]  # type: ignore[attr-defined]
    recipe = ws / "recipe.yaml"
    items = [ln.strip() for ln in res.stderr.splitlines() if ln.startswith(f"  {recipe}:")]  # type: ignore[attr-defined]
    assert len(items) == 2, items  # the must-show allows at most 3
    paths, stopped = items
    assert re.match(rf"{re.escape(str(recipe))}:\d+: src/featdepth/config/cfg_kitti_fm.py:14: 5 absolute paths", paths)
    assert "kitti-stereo writes a kitti-raw layout" in paths
    line = recipe.read_text().splitlines().index("  train:") + 1
    assert stopped.startswith(f"{recipe}:{line}: the chain stopped (usage error, exit 2): task train")
    assert "has no smoke settings" in stopped
