"""FeatDepth on the real code: `up --cpu --smoke` fetches the bundle from ../shared/upstream, applies the recipe's
patches (the published SyntaxError, seed 002's DDP fixes, mmcv 1.x, CPU), builds a venv with torch 2.14.1 and the
pure-Python mmcv 1.7.2 from its sdist, and trains 2 iterations of mmcv's Runner on a generated KITTI raw sequence.

The bundle holds one re-made commit (f55c101..., upstream 550420b3... without a 3 MB split list, see
../shared/upstream/README.md), so this test runs a copy of recipes/featdepth.yaml whose only difference is that
commit; the copy sits in a recipes/ folder beside a copy of patches/featdepth/, as the registry expects.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from realcode.test_seed_recipes import PINS, Seed, _check_first_up, _check_provenance, _log, _ok
from support.cli import run_console_script
from support.upstream import make_mirror, mirror_rule

pytestmark = [pytest.mark.slow, pytest.mark.realcode]

REPO_ROOT = Path(__file__).resolve().parents[2]
UPSTREAM_COMMIT = "550420b3fb51a027549716b74c6fbce41651d3a5"
REMADE_COMMIT = "f55c1015572f19e4cae2cf02129cf45cd10538c1"


def recipe_at_remade_commit(dest: Path) -> Path:
    """recipes/featdepth.yaml with the bundle's commit instead of upstream's (the only change), and its patches."""
    text = (REPO_ROOT / "recipes" / "featdepth.yaml").read_text(encoding="utf-8")
    assert text.count(UPSTREAM_COMMIT) == 1
    (dest / "recipes").mkdir(parents=True)
    recipe = dest / "recipes" / "featdepth.yaml"
    recipe.write_text(text.replace(UPSTREAM_COMMIT, REMADE_COMMIT), encoding="utf-8")
    shutil.copytree(REPO_ROOT / "patches" / "featdepth", dest / "patches" / "featdepth")
    return recipe


@pytest.fixture(scope="session")
def featdepth_up(tmp_path_factory: pytest.TempPathFactory) -> Seed:
    tmp = tmp_path_factory.mktemp("seed-featdepth")
    mirror = make_mirror(tmp / "mirror")
    recipe = recipe_at_remade_commit(tmp / "copy")
    ws = tmp / "ws"
    env = {"LEGACYRUN_CACHE_DIR": str(tmp / "cache"), "LEGACYRUN_CONFIG_DIR": str(tmp / "config"), "CI": "true"}
    first = run_console_script(
        "up", str(recipe), "--trust", "--cpu", "--smoke", "--backend", "venv", *PINS, "--mirror", mirror_rule(mirror),
        "-w", str(ws), "--json", env=env, timeout=3600,
    )  # fmt: skip
    return Seed(str(recipe), ws, env, mirror_rule(mirror), first)


class TestFeatDepth:
    def test_up_smoke_trains_two_iterations(self, featdepth_up: Seed) -> None:
        run = _check_first_up(featdepth_up, "Epoch [1][2/2]")
        log = _log(featdepth_up, run)
        assert "Epoch [1][1/2]" in log and "loss: " in log
        assert "Traceback" not in log
        # the smoke config and the generated sequence were used; the CPU plan ran one process without a launcher
        argv = run["argv"]
        assert argv[argv.index("--config", argv.index("--config") + 1) + 1] == "config/cfg_legacyrun_smoke.py"
        assert argv[argv.index("--launcher") + 1] == "none"
        assert run["env_overrides"]["FEATDEPTH_SMOKE_ROOT"].endswith("smoke/kitti")
        # the published SyntaxError, seed 002's DDP fixes (the SyncBN one only applies with several GPUs), mmcv 1.x
        # and the CPU patches are commits in the tree that ran
        applied = set(run["patches"])
        assert {"color-jitter-paren", "ddp-local-rank-device", "ddp-device-ids", "ddp-global-loss-log",
                "mmcv1-runner-logger", "cpu-device", "smoke-config"} <= applied  # fmt: skip
        assert "ddp-syncbn" not in applied
        src = featdepth_up.ws / "src" / "featdepth"
        trainer = (src / "mono" / "apis" / "trainer.py").read_text(encoding="utf-8")
        assert "_legacyrun_global_mean(log_vars[name])" in trainer and ".cuda()" not in trainer
        # mmcv came from its sdist without compiled ops (pure Python), as the recipe's build step says
        site = next((featdepth_up.ws / "env" / "lib").glob("python3*/site-packages"))
        assert (site / "mmcv" / "runner" / "epoch_based_runner.py").is_file()
        assert not list((site / "mmcv").glob("_ext*.so"))
        _check_provenance(featdepth_up, run)
        assert run["sources"]["featdepth"] == REMADE_COMMIT

    def test_status_after_up(self, featdepth_up: Seed) -> None:
        _ok(featdepth_up.first)
        status = _ok(featdepth_up.cli("status", featdepth_up.recipe, "--json"))
        assert status["environment"]["backend"] == "venv"
        assert status["lock_current"] is True


def test_faithful_two_gpu_plan_gets_the_ddp_fixes_and_no_port(tmp_path: Path) -> None:
    # No build: lock a faithful plan for 2 V100s, fetch the bundle and patch. Every regex still finds its count
    # in the real tree, SyncBN joins the DDP fixes with 2 GPUs, and neither the torch 2.x/mmcv 1.x ports nor the
    # CPU patch apply.
    mirror = make_mirror(tmp_path / "mirror")
    recipe = str(recipe_at_remade_commit(tmp_path / "copy"))
    env = {"LEGACYRUN_CACHE_DIR": str(tmp_path / "cache"), "LEGACYRUN_CONFIG_DIR": str(tmp_path / "config")}
    ws = ["-w", str(tmp_path / "ws")]

    def cli(*args: str) -> Any:
        return _ok(run_console_script(*args, *ws, "--json", env=env, timeout=600))

    locked = cli("lock", recipe, "--gpu", "V100", "--driver", "418")["resolution"]
    assert locked["profile"] == "faithful"
    cli("fetch", recipe, "--code", "--mirror", mirror_rule(mirror))
    out = cli("patch", recipe, "--gpus", "2")
    (source,) = out["sources"]
    applied = set(source["applied"])
    assert {"color-jitter-paren", "ddp-local-rank-device", "ddp-device-ids", "ddp-global-loss-log",
            "ddp-global-loss-log-use", "ddp-syncbn", "config-data-path", "config-weight-paths"} <= applied  # fmt: skip
    assert not applied & {"mmcv1-runner-logger", "python-forward", "grid-sample-align-corners", "cpu-device"}
    trainer = (tmp_path / "ws" / "src" / "featdepth" / "mono" / "apis" / "trainer.py").read_text(encoding="utf-8")
    compile(trainer, "trainer.py", "exec")
    assert "convert_sync_batchnorm(model)\n    model = MMDistributedDataParallel(model.cuda(), device_ids=" in trainer
