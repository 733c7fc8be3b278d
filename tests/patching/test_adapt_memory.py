"""Memory-aware adaptation (issue 13): adapt keys with `when: {gpu_memory_gb: ...}` replace the count rule of the
same key on small cards (seed 004: a 4 GB GTX 760 needs IMS_PER_BATCH 1, MASK_BATCH_SIZE_PER_IM 8, a lower LR);
the commit names the memory, provenance rows say why, and a different card re-adapts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from patching.patchkit import Project, git
from patching.test_adapt import ADAPT

from legacyrun.patching.adapt import applicable_keys, plan_adaptation
from legacyrun.patching.engine import applied_ids, apply, plan_patches
from legacyrun.patching.target import Target, target_from_resolution
from legacyrun.recipe.loader import load_path
from legacyrun.resolution import GpuInfo, HostInfo, Resolution
from legacyrun.run.gpus import select_gpus
from legacyrun.usecases.run import adaptation_overrides, gpu_target, readapt

MEMORY = """\
    - {key: SOLVER.IMS_PER_BATCH, format: yaml, files: ["configs/*.yaml"], rule: gpus,
       when: {gpu_memory_gb: {max: 6}}, why: one image per GPU fits in 4 GB}
    - {key: SOLVER.BASE_LR, format: yaml, files: ["configs/*.yaml"], rule: set, value: 0.0015,
       when: {gpu_memory_gb: {max: 6}, gpus: "==1"}, why: seed 004}
"""
ROOT = Path(__file__).resolve().parents[2]


def _target(memory: float | None) -> Target:
    return Target(profile="modern", torch="2.1", gpus=1, gpu_memory_gb=memory)


def test_a_4gb_card_gets_the_memory_rules(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(adapt=ADAPT + MEMORY)
    result = apply(plan_patches(loaded, p.ws, _target(4.0)))
    assert result.sources[0].applied == ["adapt-gpus-1-4gb"]
    config = (p.src / "configs/base.yaml").read_text()
    # the count rule would give IMS_PER_BATCH 2 and BASE_LR 0.0025
    assert "IMS_PER_BATCH: 1   # 2 images per GPU" in config and "BASE_LR: 0.0015" in config
    assert result.adapt is not None
    rows = {(r.key, r.rule): r for r in result.adapt.rows if r.where.startswith("configs/")}
    assert rows[("SOLVER.IMS_PER_BATCH", "gpus")].new == "1"
    assert "GPU memory 4 GB is at most 6 GB" in rows[("SOLVER.BASE_LR", "set")].why
    assert ("SOLVER.BASE_LR", "linear") not in rows  # replaced, not applied twice
    assert git(p.src, "log", "-1", "--format=%s") == "legacyrun: adapt-gpus-1-4gb"


def test_large_or_unknown_memory_keeps_the_count_rules(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(adapt=ADAPT + MEMORY)
    for memory in (24.0, None):
        plan = plan_adaptation(loaded, _target(memory), p.ws)
        assert plan.patch_id == "adapt-gpus-1"
        news = {(r.key, r.where): r.new for r in plan.rows}
        assert news[("SOLVER.IMS_PER_BATCH", "configs/base.yaml:6")] == "2"
        assert news[("SOLVER.BASE_LR", "configs/base.yaml:7")] == "0.0025"
    # two 4 GB cards: the count condition of the LR rule does not hold, the batch rule does
    two = plan_adaptation(loaded, Target(profile="modern", torch="2.1", gpus=2, gpu_memory_gb=4.0), p.ws)
    news = {(r.key, r.rule): r.new for r in two.rows if r.where.startswith("configs/")}
    assert news[("SOLVER.IMS_PER_BATCH", "gpus")] == "2" and news[("SOLVER.BASE_LR", "linear")] == "0.005"


def test_another_card_re_adapts_and_provenance_rows_say_why(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(adapt=ADAPT + MEMORY)
    res = Resolution(
        recipe="legacy", recipe_hash=loaded.hash, profile="modern", python="3.11", torch="2.1", host=HostInfo()
    )
    big = select_gpus("1", [GpuInfo(name="RTX 3090", index="0", memory_mib=24576)])
    small = select_gpus("1", [GpuInfo(name="GTX 760", index="1", memory_mib=4096)])
    apply(plan_patches(loaded, p.ws, gpu_target(res, big)))
    assert applied_ids(p.src, p.pinned) == ["adapt-gpus-1"]
    assert (
        readapt(loaded, p.ws, res, small, sources_in_env=False) == "re-adapted proj: adapt-gpus-1 -> adapt-gpus-1-4gb"
    )
    _overrides, rows = adaptation_overrides(loaded, p.ws, res, small)
    lr = next(r for r in rows if r["key"] == "SOLVER.BASE_LR")
    assert lr["new"] == "0.0015" and "GPU memory 4 GB" in lr["why"] and lr["old"] == "0.02"


def test_memory_from_the_resolution_host() -> None:
    host = HostInfo(gpus=[GpuInfo(name="GTX 760", compute_capability="3.0", memory_mib=1996)])
    res = Resolution(recipe="r", recipe_hash="h", profile="p", python="3.7", torch="1.2.0", host=host)
    assert target_from_resolution(res).gpu_memory_gb == 1.9
    assert target_from_resolution(res.model_copy(update={"host": HostInfo()})).gpu_memory_gb is None


def test_masktextspotter_rules_for_seed_004() -> None:
    adapt = load_path(ROOT / "recipes/masktextspotter.yaml").recipe.adapt
    assert adapt is not None
    small = {(k.key, k.rule, k.value) for k in applicable_keys(adapt, _target(4.0))}
    assert ("MODEL.ROI_MASK_HEAD.MASK_BATCH_SIZE_PER_IM", "set", 8) in small
    assert ("SOLVER.IMS_PER_BATCH", "gpus", None) in small
    assert ("MODEL.ROI_MASK_HEAD.MASK_BATCH_SIZE_PER_IM", "set", 32) not in small
    # the CPU path and large cards: exactly the rules without a condition, as before
    for memory in (None, 24.0):
        assert applicable_keys(adapt, _target(memory)) == [k for k in adapt.keys if k.when is None]


ACCUMULATE = """\
adapt:
  reference_gpus: 8
  keys:
    - {key: SOLVER.IMS_PER_BATCH, format: yaml, files: ["configs/*.yaml"], rule: linear}
    - {key: SOLVER.IMS_PER_BATCH, format: yaml, files: ["configs/*.yaml"], rule: set, value: 1,
       when: {gpu_memory_gb: {max: 6}}, why: one image per GPU fits in 4 GB}
    - {key: SOLVER.ACCUMULATE_STEPS, format: cli, tasks: [train], rule: accumulate, batch: SOLVER.IMS_PER_BATCH,
       why: the trainer's gradient accumulation option}
"""


def test_accumulation_keeps_the_effective_batch_on_a_small_card(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(adapt=ACCUMULATE)
    # One 4 GB card: the count rule gives IMS_PER_BATCH 2 (16 x 1/8), memory forces 1, so 2 steps keep it.
    plan = plan_adaptation(loaded, _target(4.0), p.ws)
    assert plan.overrides == {"train": ["SOLVER.ACCUMULATE_STEPS", "2"]}
    row = next(r for r in plan.rows if r.key == "SOLVER.ACCUMULATE_STEPS")
    assert (row.old, row.new, row.rule) == ("-", "2", "accumulate")
    assert "keeps the effective batch 2: SOLVER.IMS_PER_BATCH 1" in row.why
    assert row.why.startswith("the trainer's gradient accumulation option")
    # Eight 4 GB cards: the rule sets the whole batch (detectron's IMS_PER_BATCH) to 1; the authors had 16.
    eight = plan_adaptation(loaded, Target(profile="modern", torch="2.1", gpus=8, gpu_memory_gb=4.0), p.ws)
    assert eight.overrides["train"] == ["SOLVER.ACCUMULATE_STEPS", "16"]
    # A big card: no memory rule, nothing to compensate, the option is left as the authors set it.
    big = plan_adaptation(loaded, _target(24.0), p.ws)
    assert big.overrides == {}
    assert next(r for r in big.rows if r.key == "SOLVER.ACCUMULATE_STEPS").why == (
        "the trainer's gradient accumulation option"
    )


def test_accumulation_is_a_provenance_row_with_its_reason(project: Callable[..., Project]) -> None:
    p = project()
    loaded = p.write_recipe(adapt=ACCUMULATE)
    res = Resolution(
        recipe="legacy", recipe_hash=loaded.hash, profile="modern", python="3.11", torch="2.1", host=HostInfo()
    )
    small = select_gpus("1", [GpuInfo(name="GTX 760", index="0", memory_mib=4096)])
    overrides, rows = adaptation_overrides(loaded, p.ws, res, small)
    assert overrides == {"train": ["SOLVER.ACCUMULATE_STEPS", "2"]}
    acc = next(r for r in rows if r["key"] == "SOLVER.ACCUMULATE_STEPS")
    assert acc["rule"] == "accumulate" and "gradients accumulated over 2x the steps" in acc["why"]
    batch = next(r for r in rows if r["key"] == "SOLVER.IMS_PER_BATCH")
    assert (batch["old"], batch["new"]) == ("16", "1") and "GPU memory 4 GB is at most 6 GB" in batch["why"]


def test_an_accumulate_key_names_an_earlier_batch_key(project: Callable[..., Project]) -> None:
    import pytest

    from legacyrun.errors import RecipeError

    p = project()
    bad = ACCUMULATE.replace("batch: SOLVER.IMS_PER_BATCH", "batch: SOLVER.BATCH")
    located = r"legacy\.yaml:19:\d+: adapt\.keys\[2\]\.batch: 'SOLVER\.BATCH' is not the key of an earlier"
    with pytest.raises(RecipeError, match=located):
        p.write_recipe(adapt=bad)
