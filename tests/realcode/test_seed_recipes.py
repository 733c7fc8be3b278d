"""The built-in recipes, unchanged, on the real upstream code: `up --cpu --smoke` fetches the pinned commits from
the git bundles in ../shared/upstream, patches them, builds a venv with torch 2.14.1 + torchvision 0.29.1 (from this
machine's disk through PyPI), compiles every native build step for the CPU, trains 2 iterations on generated data
and records complete provenance. A second `up` (the eval/test task) skips every step before the task, and `run`
(without the mirror) finds the same environment.

Each recipe's environment is built once per test session (the heavy part: ~5.5 GB of torch and a C++ build) and
shared by the tests of its class. Nothing here is mocked: real git, real pip, real compilers, the real projects.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support.cli import CliResult, run_console_script
from support.upstream import make_mirror, mirror_rule

pytestmark = [pytest.mark.slow, pytest.mark.realcode]

PINS = ["--pin", "torch=2.14.1", "--pin", "torchvision=0.29.1"]
BEFORE_TASK = ["lock", "fetch-code", "fetch-data", "smoke-data", "patch", "build"]


@dataclass
class Seed:
    """One recipe's workspace after the first `up`, shared by the tests of that recipe."""

    recipe: str
    ws: Path
    env: dict[str, str]
    mirror: str
    first: CliResult

    def cli(self, *args: str, timeout: float = 3600) -> CliResult:
        return run_console_script(*args, "-w", str(self.ws), env=self.env, timeout=timeout)

    def runs(self) -> list[dict[str, Any]]:
        return [json.loads((d / "provenance.json").read_text()) for d in sorted((self.ws / "runs").iterdir())]


def _up(recipe: str, tmp: Path, cache: Path) -> Seed:
    mirror = make_mirror(tmp / "mirror")
    ws = tmp / "ws"
    # The session's real-code cache (ccache, wheels, downloads) and a private config (session fixtures run
    # outside the per-test autouse isolation).
    env = {"LEGACYRUN_CACHE_DIR": str(cache), "LEGACYRUN_CONFIG_DIR": str(tmp / "config"), "CI": "true"}
    env.pop("LEGACYRUN_MIRRORS", None)
    first = run_console_script(
        "up", recipe, "--cpu", "--smoke", "--backend", "venv", *PINS, "--mirror", mirror_rule(mirror),
        "-w", str(ws), "--json", env=env, timeout=3600,
    )  # fmt: skip
    return Seed(recipe, ws, env, mirror_rule(mirror), first)


@pytest.fixture(scope="session")
def mask2former_up(tmp_path_factory: pytest.TempPathFactory, realcode_cache: Path) -> Seed:
    return _up("mask2former", tmp_path_factory.mktemp("seed-mask2former"), realcode_cache)


@pytest.fixture(scope="session")
def masktextspotter_up(tmp_path_factory: pytest.TempPathFactory, realcode_cache: Path) -> Seed:
    return _up("masktextspotter", tmp_path_factory.mktemp("seed-masktextspotter"), realcode_cache)


def _ok(res: CliResult) -> dict[str, Any]:
    assert res.exit_code == 0, (res.stdout[-4000:], res.stderr[-6000:])
    return json.loads(res.stdout)


def _log(seed: Seed, run: dict[str, Any]) -> str:
    return (seed.ws / "runs" / run["run_id"] / "log.txt").read_text(encoding="utf-8", errors="replace")


def _head(path: Path) -> str:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _check_first_up(seed: Seed, iteration_marker: str) -> dict[str, Any]:
    out = _ok(seed.first)
    steps = {s["step"]: s["status"] for s in out["steps"]}
    assert [steps[name] for name in BEFORE_TASK] == ["done"] * len(BEFORE_TASK), steps
    assert out["profile"] == "modern"
    run = seed.runs()[0]
    assert run["exit_code"] == 0
    log = _log(seed, run)
    assert iteration_marker in log, log[-3000:]
    return run


def _check_provenance(seed: Seed, run: dict[str, Any]) -> None:
    lock_text = (seed.ws / "legacyrun.lock").read_text()
    # patched heads: the commit each tree runs at (legacyrun/patched), besides the pinned commits
    for name, head in run["patched_heads"].items():
        assert head == _head(seed.ws / "src" / name)
        assert run["sources"][name] != head  # patches were applied on top of the pinned commit
    assert run["patches"] and all(len(h) == 64 for h in run["patches"].values())
    assert run["environment"]["backend"] == "venv" and run["environment"]["id"] in lock_text
    smoke = run["smoke"]
    assert smoke and smoke["data"] and all(len(d["sha256"]) == 64 for d in smoke["data"])
    assert run["env_overrides"]["LEGACYRUN_SMOKE"] == "1"
    assert run["host"]["torch"] == "2.14.1" and run["host"]["cuda"] is None


def _check_second_up_and_run(seed: Seed, task: str, marker: str) -> None:
    again = _ok(seed.cli("up", seed.recipe, "--cpu", "--smoke", "--backend", "venv", *PINS, "--mirror", seed.mirror,
                         "--task", task, "--json"))  # fmt: skip
    steps = {s["step"]: s["status"] for s in again["steps"]}
    assert [steps[name] for name in BEFORE_TASK] == ["skipped"] * len(BEFORE_TASK), steps
    assert steps["run"] == "done"
    env_id = seed.runs()[0]["environment"]["id"]
    second = seed.runs()[-1]
    assert second["task"] == task and second["environment"]["id"] == env_id
    assert marker in _log(seed, second)

    # `run` without --mirror finds the environment `up` built through the mirror
    res = seed.cli("run", seed.recipe, task, "--smoke", "--json")
    ran = _ok(res)
    assert ran["exit_code"] == 0
    third = seed.runs()[-1]
    assert third["environment"]["id"] == env_id and third["smoke"] is not None


class TestMask2Former:
    def test_up_smoke_trains_two_iterations(self, mask2former_up: Seed) -> None:
        run = _check_first_up(mask2former_up, "iter: 1 ")
        log = _log(mask2former_up, run)
        # the adapted flag went before the KEY VALUE pairs, and the final evaluation ran on the smoke data
        argv = run["argv"]
        assert argv.index("--num-gpus") < argv.index("MODEL.WEIGHTS")
        assert "Evaluation results for ade20k_sem_seg_val" in log
        # CPU plan: detectron2's C++ ops were compiled, the CUDA-only MSDeformAttn op was skipped and patched
        assert list((mask2former_up.ws / "src" / "detectron2" / "detectron2").glob("_C*.so"))
        assert "msdeformattn-cpu-fallback" in run["patches"]
        _check_provenance(mask2former_up, run)

    def test_second_up_skips_to_the_task_and_run_finds_the_env(self, mask2former_up: Seed) -> None:
        _ok(mask2former_up.first)
        _check_second_up_and_run(mask2former_up, "eval", "copypaste: mIoU,fwIoU,mACC,pACC")

    def test_status_after_up(self, mask2former_up: Seed) -> None:
        _ok(mask2former_up.first)
        status = _ok(mask2former_up.cli("status", "mask2former", "--json"))
        assert status["environment"]["backend"] == "venv"
        assert status["lock_current"] is True

    def test_patched_op_source_is_rebuilt_by_up(self, mask2former_up: Seed) -> None:
        """A patch to a C++ file of the CPU plan's op library (detectron2's _C; the MSDeformAttn op is CUDA-only and
        `cpu: skip` here) makes the next `up` rebuild that step in the kept venv: the .so changes and carries the
        patched code; with ccache, only the changed translation unit is compiled. Last in the class: it leaves the
        tree edited (an uncommitted change, which is what `up` keys the step on, like a patch commit)."""
        seed = mask2former_up
        _ok(seed.first)
        d2 = seed.ws / "src" / "detectron2" / "detectron2"
        so = next(d2.glob("_C*.so"))
        before = hashlib.sha256(so.read_bytes()).hexdigest()
        marker = seed.ws / "env" / ".legacyrun-env-id"
        env_mtime = marker.stat().st_mtime_ns
        cpp = d2 / "layers" / "csrc" / "nms_rotated" / "nms_rotated_cpu.cpp"
        cpp.write_bytes(
            cpp.read_bytes() + b'\nextern "C" const char legacyrun_test_patch[] = "legacyrun-test-patch";\n'
        )
        ccache = shutil.which("ccache")
        cache_env = {**os.environ, "CCACHE_DIR": str(Path(seed.env["LEGACYRUN_CACHE_DIR"]) / "ccache")}
        if ccache:
            subprocess.run([ccache, "--zero-stats"], env=cache_env, check=True, capture_output=True)
        res = _ok(seed.cli("up", seed.recipe, "--cpu", "--smoke", "--backend", "venv", *PINS, "--mirror", seed.mirror,
                           "--task", "eval", "--json"))  # fmt: skip
        steps = {s["step"]: s["status"] for s in res["steps"]}
        assert steps["patch"] == "skipped" and steps["build"] == "done", steps
        rebuilt = next(d2.glob("_C*.so"))
        assert hashlib.sha256(rebuilt.read_bytes()).hexdigest() != before
        assert b"legacyrun-test-patch" in rebuilt.read_bytes()
        assert marker.stat().st_mtime_ns == env_mtime  # the venv and its requirements were kept
        if ccache:
            done = subprocess.run([ccache, "--print-stats"], env=cache_env, check=True, capture_output=True, text=True)
            stats = dict(ln.split("\t", 1) for ln in done.stdout.splitlines() if "\t" in ln)
            hits = int(stats.get("direct_cache_hit", 0)) + int(stats.get("preprocessed_cache_hit", 0))
            assert int(stats.get("cache_miss", 0)) == 1 and hits >= 4, stats


class TestMaskTextSpotter:
    def test_up_smoke_trains_two_iterations(self, masktextspotter_up: Seed) -> None:
        run = _check_first_up(masktextspotter_up, "iter: 1 ")
        # train.sh passes the smoke arguments through (patch train-sh-args); the CPU patches are in
        assert {"train-sh-args", "roi-align-cpu", "seq-head-device", "thc-removal"} <= set(run["patches"])
        so = list((masktextspotter_up.ws / "src" / "masktextspotter" / "maskrcnn_benchmark").glob("_C*.so"))
        assert so, "maskrcnn_benchmark._C was not compiled"
        _check_provenance(masktextspotter_up, run)

    def test_second_up_skips_to_the_task_and_run_finds_the_env(self, masktextspotter_up: Seed) -> None:
        _ok(masktextspotter_up.first)
        _check_second_up_and_run(masktextspotter_up, "test", "Total inference time")
