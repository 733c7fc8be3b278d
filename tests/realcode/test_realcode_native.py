"""The real native ops of the seed systems compile for sm_90 with nvcc 13 against torch 2.14.1 on a machine
without a GPU (`--gpu H100`), through legacyrun's build step runner; the unpatched code fails and `explain` names why.

Sources: the real upstream code (`upstream_mirror`, fetched with `legacyrun fetch RECIPE --code --mirror ...`),
patched with the core patch engine for torch 2.14.1 / CUDA 13.0 / profile modern. The torch env is the session's
`torch_venv`. Needs nvcc (CUDA 13) and a host GCC that it accepts; skipped without them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from support.cli import run_cli
from support.upstream import mirror_rule

from legacyrun.backends.base import BuildPlan
from legacyrun.backends.native import run_local_steps
from legacyrun.diagnose import explain_file
from legacyrun.errors import BuildError
from legacyrun.host import host_from_flags, nvcc_version
from legacyrun.patching.engine import apply, plan_patches
from legacyrun.patching.target import Target
from legacyrun.resolve.engine import resolve
from legacyrun.share.registry import load
from legacyrun.workspace import Workspace

pytestmark = pytest.mark.slow

TORCH = "2.14.1"
CUDA = "13.0"
TARGET = Target(profile="modern", torch=TORCH, python="3.11", cuda=CUDA, gpus=1)


@pytest.fixture(scope="module", autouse=True)
def _toolchain() -> None:
    nvcc = nvcc_version(os.environ)  # PATH, $CUDA_HOME, /usr/local/cuda
    if nvcc is None or not nvcc.startswith("13."):
        pytest.skip(f"needs nvcc 13 (found {nvcc or 'none'})")
    if shutil.which("gcc") is None:
        pytest.skip("needs a host gcc")


def _plan(recipe: str, ws: Path) -> BuildPlan:
    """The resolution `legacyrun resolve RECIPE --gpu H100 --profile modern` gives, with torch 2.14.1 (cu130)."""
    loaded = load(recipe)
    res = resolve(loaded, host_from_flags(gpu="H100"), profile="modern")
    if res.torch != TORCH:
        res = res.model_copy(update={"torch": TORCH, "torchvision": "0.29.1", "cuda": CUDA})
    assert res.torch_cuda_arch_list and "9.0" in res.torch_cuda_arch_list
    return BuildPlan(recipe=loaded, resolution=res, workspace=Workspace.at(ws), profile="modern")


def _fetch(recipe: str, ws: Path, mirror: Path, *, without: tuple[str, ...] | None = ()) -> None:
    """Fetch the code; patch it for the target unless `without` is None (then none), leaving out `without`."""
    done = run_cli("fetch", recipe, "--code", "-w", ws, "--mirror", mirror_rule(mirror))
    assert done.exit_code == 0, done.stderr
    if without is None:
        return
    plan = plan_patches(load(recipe), Workspace.at(ws), TARGET)
    for sp in plan.sources:
        sp.patches[:] = [p for p in sp.patches if p.id not in without]
    assert apply(plan).changes > 0


def _build(plan: BuildPlan, prefix: Path, step: str) -> tuple[Path, float]:
    lines: list[str] = []
    start = time.monotonic()
    try:
        run_local_steps(plan, prefix, lines.append, only=[step])
    finally:
        elapsed = time.monotonic() - start
        print(f"build step {step}: {elapsed:.0f} s")
    return plan.workspace.logs / f"build-{step}.log", elapsed


def _fails(plan: BuildPlan, prefix: Path, step: str) -> list[str]:
    start = time.monotonic()
    with pytest.raises(BuildError):
        run_local_steps(plan, prefix, lambda _l: None, only=[step])
    print(f"build step {step} (expected failure): {time.monotonic() - start:.0f} s")
    return [m.signature_id for m in explain_file(plan.workspace.logs / f"build-{step}.log")]


def _imports(prefix: Path, code: str, cwd: Path | None = None) -> None:
    # torch first: it loads libc10_cuda and libcudart the op links against (no GPU needed to load them).
    done = subprocess.run(
        [str(prefix / "bin" / "python"), "-c", f"import torch; {code}"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def _sm90(log: Path) -> None:
    text = log.read_text(encoding="utf-8")
    header = next(ln for ln in text.splitlines() if ln.startswith("legacyrun: CC="))
    settings = dict(item.split("=", 1) for item in header.split()[1:])
    assert settings["FORCE_CUDA"] == "1" and "9.0" in settings["TORCH_CUDA_ARCH_LIST"]
    # The compiler exists here (the docker image's gcc of the resolution need not).
    assert shutil.which(settings["CXX"]) is not None
    assert "nvcc" in text and "-gencode=arch=compute_90,code=sm_90" in text


def test_msdeformattn_patched_compiles_for_sm90(upstream_mirror: Path, torch_venv: Path, tmp_path: Path) -> None:
    """Mask2Former's MSDeformAttn op, patched, `python setup.py build install` (~110 s on 2 busy cores)."""
    ws = tmp_path / "m2f"
    _fetch("mask2former", ws, upstream_mirror)
    log, _ = _build(_plan("mask2former", ws), torch_venv, "msdeformattn")
    _sm90(log)
    _imports(torch_venv, "import MultiScaleDeformableAttention as m; assert hasattr(m, 'ms_deform_attn_forward')")


def test_msdeformattn_unpatched_fails_on_dispatch(upstream_mirror: Path, torch_venv: Path, tmp_path: Path) -> None:
    """The unpatched op: the full step (its one .cu fails in nvcc's front end, before any codegen)."""
    ws = tmp_path / "m2f-raw"
    _fetch("mask2former", ws, upstream_mirror, without=None)
    assert "at-dispatch-type" in _fails(_plan("mask2former", ws), torch_venv, "msdeformattn")


def test_maskrcnn_benchmark_patched_compiles_for_sm90(upstream_mirror: Path, torch_venv: Path, tmp_path: Path) -> None:
    """MaskTextSpotter's maskrcnn_benchmark csrc, patched, compat editable install (~400 s on 2 cores); the op then
    imports from outside the source root, as tools/train_net.py needs."""
    ws = tmp_path / "mts"
    _fetch("masktextspotter", ws, upstream_mirror)
    log, _ = _build(_plan("masktextspotter", ws), torch_venv, "maskrcnn-benchmark")
    _sm90(log)
    _imports(
        torch_venv, "from maskrcnn_benchmark import _C; assert hasattr(_C, 'nms')", cwd=ws / "src" / "masktextspotter"
    )


def test_maskrcnn_benchmark_without_thc_removal_fails(upstream_mirror: Path, torch_venv: Path, tmp_path: Path) -> None:
    """The csrc without the thc-removal patch (every other patch applied, so that setup.py compiles CUDA without a
    GPU and the C++ sources compile): the full step, which stops at the first .cu that includes THC/THC.h."""
    ws = tmp_path / "mts-thc"
    _fetch("masktextspotter", ws, upstream_mirror, without=("thc-removal",))
    assert "thc-headers-missing" in _fails(_plan("masktextspotter", ws), torch_venv, "maskrcnn-benchmark")
