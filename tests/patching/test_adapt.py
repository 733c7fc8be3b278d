"""GPU-count adaptation: linear scaling, set, SyncBN, launcher; edits keep comments; overrides and the table."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from patching.patchkit import Project, git

from legacyrun.errors import PatchError
from legacyrun.patching.adapt import format_float, new_value, plan_adaptation
from legacyrun.patching.engine import apply, plan_patches
from legacyrun.patching.target import Target
from legacyrun.recipe.models import AdaptKey

ADAPT = """\
adapt:
  reference_gpus: 8
  keys:
    - {key: SOLVER.IMS_PER_BATCH, format: yaml, files: ["configs/*.yaml"], rule: linear}
    - {key: SOLVER.BASE_LR, format: yaml, files: ["configs/*.yaml"], rule: linear}
    - {key: MODEL.RESNETS.NORM, format: yaml, files: ["configs/*.yaml"], rule: syncbn}
    - {key: DATALOADER.NUM_WORKERS, format: yaml, files: ["configs/*.yaml"], rule: set, value: 2}
    - {key: --nproc_per_node, format: shell, files: [train.sh], rule: launcher}
    - {key: --local_rank, format: python, files: [tools/train_net.py], rule: launcher}
    - {key: NUM_WORKERS, format: python, files: [tools/train_net.py], rule: gpus}
    - {key: SOLVER.IMS_PER_BATCH, format: cli, tasks: [train], files: ["configs/*.yaml"], rule: linear}
    - {key: --num-gpus, format: cli, tasks: [train], rule: gpus}
"""


def test_adapt_to_one_gpu_on_new_torch(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(adapt=ADAPT)
    target = Target(profile="modern", torch="2.1", gpus=1)
    result = apply(plan_patches(loaded, p.ws, target))
    assert result.sources[0].applied == ["adapt-gpus-1"]
    config = (p.src / "configs/base.yaml").read_text()
    assert config == (
        "# Detectron-style config written for 8 GPUs\n"
        "MODEL:\n"
        "  RESNETS:\n"
        '    NORM: "BN"  # cross-GPU batch norm\n'
        "SOLVER:\n"
        "  IMS_PER_BATCH: 2   # 2 images per GPU\n"
        "  BASE_LR: 0.0025\n"
        "DATALOADER:\n"
        "  NUM_WORKERS: 2\n"
    )
    assert (p.src / "train.sh").read_text().splitlines()[1] == (
        "torchrun --nproc_per_node=1 train.py --config configs/base.yaml"
    )
    net = (p.src / "tools/train_net.py").read_text()
    assert 'add_argument("--local_rank", type=int, default=int(os.environ.get("LOCAL_RANK", 0)))' in net
    assert net.startswith("import os\nimport argparse\n")
    assert "NUM_WORKERS = 1  # loader threads" in net
    compile(net, "train_net.py", "exec")
    assert result.adapt is not None
    assert result.adapt.overrides == {"train": ["SOLVER.IMS_PER_BATCH", "2", "--num-gpus", "1"]}
    table = {(r.key, r.where): (r.old, r.new, r.rule) for r in result.adapt.rows}
    assert table[("SOLVER.BASE_LR", "configs/base.yaml:7")] == ("0.02", "0.0025", "linear")
    assert table[("MODEL.RESNETS.NORM", "configs/base.yaml:4")] == ("SyncBN", "BN", "syncbn")
    assert table[("launcher", "train.sh:2")][1] == "torchrun"
    assert table[("SOLVER.IMS_PER_BATCH", "tasks train")] == ("16", "2", "linear")
    assert git(p.src, "log", "-1", "--format=%s") == "legacyrun: adapt-gpus-1"


def test_old_torch_keeps_the_launcher(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(adapt=ADAPT)
    apply(plan_patches(loaded, p.ws, Target(profile="faithful", torch="1.4.0", gpus=2)))
    assert "python -m torch.distributed.launch --nproc_per_node=2" in (p.src / "train.sh").read_text()
    assert "default=0)" in (p.src / "tools/train_net.py").read_text()
    config = (p.src / "configs/base.yaml").read_text()
    assert "IMS_PER_BATCH: 4   # 2 images per GPU" in config
    assert 'NORM: "SyncBN"' in config  # two GPUs keep SyncBN


def test_changing_the_gpu_count_replaces_the_adapt_commit(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(adapt=ADAPT)
    apply(plan_patches(loaded, p.ws, Target(profile="modern", torch="2.1", gpus=1)))
    result = apply(plan_patches(loaded, p.ws, Target(profile="modern", torch="2.1", gpus=4)))
    assert result.sources[0].applied == ["adapt-gpus-4"]
    assert "IMS_PER_BATCH: 8   #" in (p.src / "configs/base.yaml").read_text()
    assert git(p.src, "rev-list", "--count", f"{p.pinned}..HEAD") == "1"


def test_plan_reads_the_pinned_commit(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(adapt=ADAPT)
    apply(plan_patches(loaded, p.ws, Target(profile="modern", torch="2.1", gpus=1)))
    plan = plan_adaptation(loaded, Target(profile="modern", torch="2.1", gpus=2), p.ws)
    olds = {r.key: r.old for r in plan.rows}
    assert olds["SOLVER.IMS_PER_BATCH"] == "16"  # the authors' value, not the adapted one in the tree


def test_plan_without_a_tree_uses_references(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(
        adapt="adapt:\n  reference_gpus: 8\n  keys:\n"
        "    - {key: SOLVER.BASE_LR, format: cli, tasks: [train], rule: linear, reference: 0.0001}\n"
    )
    plan = plan_adaptation(loaded, Target(profile="modern", torch="2.1", gpus=2))
    assert plan.overrides == {"train": ["SOLVER.BASE_LR", "2.5e-05"]}


def test_values() -> None:
    key = AdaptKey(key="X", format="cli", tasks=["t"], rule="linear")
    assert new_value(key, "16", 1, 8, "x") == "2"
    assert new_value(key, "4", 1, 8, "x") == "1"  # integers stay at least 1
    assert new_value(key, "0.02", 1, 8, "x") == "0.0025"
    assert new_value(key, "0.1", 2, 8, "x") == "0.025"
    with_min = AdaptKey(key="X", format="cli", tasks=["t"], rule="linear", min=4)
    assert new_value(with_min, "16", 1, 8, "x") == "4"
    assert format_float(1e-05) == "1.0e-05"
    assert format_float(2.0) == "2.0"
    with pytest.raises(PatchError, match="no numeric reference"):
        new_value(key, "fast", 1, 8, "cfg.yaml:3")
    syncbn = AdaptKey(key="N", format="yaml", files=["a"], rule="syncbn")
    assert new_value(syncbn, "SyncBN", 1, 8, "x") == "BN"
    assert new_value(syncbn, "nn.SyncBatchNorm", 1, 8, "x") == "nn.BatchNorm2d"
    assert new_value(syncbn, "SyncBN", 2, 8, "x") is None
