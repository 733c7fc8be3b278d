"""The OpenMMLab recipes, unchanged, on the real releases from PyPI: `up --cpu --smoke` fetches mmdet 2.28.2 /
mmsegmentation 0.30.0 (wheels) and mmcv-full 1.7.2 (sdist) by sha256, patches mmcv-full for torch 2.14.1, builds a
venv, compiles mmcv-full's CPU ops, checks them before training, and trains 2 iterations of Faster R-CNN and of FCN
on generated COCO / ADE20K data.

mmcv-full's C++ build is the cost (~15 minutes on 2 cores): both recipes run with one user cache, so the second
installs the wheel the first built (`wheel_cache`, keyed by source tree, torch build and arch list) - what a
researcher with both projects on one machine gets. A compile check of a subset of mmcv-full's CUDA ops for sm_90
with nvcc 13 runs through the same build step runner (skipped without nvcc 13).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support.cli import CliResult, run_console_script

from legacyrun.backends.base import BuildPlan
from legacyrun.backends.native import run_local_steps
from legacyrun.host import host_from_flags, nvcc_version
from legacyrun.lock import read as read_lock
from legacyrun.recipe.models import BuildStep
from legacyrun.resolve.engine import resolve
from legacyrun.share.registry import load
from legacyrun.workspace import Workspace

pytestmark = [pytest.mark.slow, pytest.mark.realcode]

PINS = ["--pin", "torch=2.14.1", "--pin", "torchvision=0.29.1"]


@dataclass
class Up:
    recipe: str
    ws: Path
    env: dict[str, str]
    first: CliResult
    seconds: float

    def python(self, code: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.ws / "env" / "bin" / "python"), "-c", code], capture_output=True, text=True, check=False
        )

    def run_log(self) -> str:
        [run] = sorted((self.ws / "runs").iterdir())
        return (run / "log.txt").read_text(encoding="utf-8", errors="replace")

    def build_log(self, step: str) -> str:
        return (self.ws / ".legacyrun" / "logs" / f"build-{step}.log").read_text(encoding="utf-8", errors="replace")


def _up(recipe: str, root: Path) -> Up:
    ws = root / recipe
    # One private user cache for both recipes (session fixtures run outside the per-test autouse isolation).
    env = {"LEGACYRUN_CACHE_DIR": str(root / "cache"), "LEGACYRUN_CONFIG_DIR": str(root / "config"), "CI": "true"}
    start = time.monotonic()
    first = run_console_script(
        "up", recipe, "--cpu", "--smoke", "--backend", "venv", *PINS, "-w", str(ws), "--json", env=env, timeout=3600
    )
    seconds = time.monotonic() - start
    print(f"up {recipe} --cpu --smoke: {seconds:.0f} s")
    return Up(recipe, ws, env, first, seconds)


@pytest.fixture(scope="session")
def openmmlab_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("openmmlab")


@pytest.fixture(scope="session")
def mmdet_up(openmmlab_root: Path) -> Up:
    return _up("mmdetection", openmmlab_root)


@pytest.fixture(scope="session")
def mmseg_up(openmmlab_root: Path, mmdet_up: Up) -> Up:
    # After mmdetection on purpose: its mmcv-full wheel is in the shared cache by then.
    return _up("mmsegmentation", openmmlab_root)


def _ok(up: Up) -> dict[str, Any]:
    assert up.first.exit_code == 0, (up.first.stdout[-4000:], up.first.stderr[-6000:])
    return json.loads(up.first.stdout)


def test_mmdetection_smoke_trains_two_iterations(mmdet_up: Up) -> None:
    _ok(mmdet_up)
    log = mmdet_up.run_log()
    assert "Epoch [1][1/2]" in log and "Epoch [1][2/2]" in log, log[-3000:]
    lock = read_lock(mmdet_up.ws / "legacyrun.lock")
    assert lock.resolution.profile == "modern" and lock.resolution.torch == "2.14.1"
    mmdet = lock.packages["mmdet"]
    assert mmdet.sha256 == "30ac4dc275f838397872a4d43f77541e46cf8dc8431f796ddf10d7e4adfd9fe4"
    assert mmdet.url and mmdet.url.endswith("/mmdet-2.28.2-py3-none-any.whl")
    assert lock.packages["mmcv-full"].kind == "sdist" and set(lock.sources) == {"mmdet", "mmcv-full"}
    # the three forward ports of mmcv-full are commits on the pristine release
    assert {"mmcv-setup-pkg-resources", "mmcv-setup-cxx20", "mmcv-get-stream"} <= set(lock.patches)


def test_mmcv_cpu_ops_compiled_and_checked_before_training(mmdet_up: Up) -> None:
    _ok(mmdet_up)
    done = mmdet_up.python("import torch, mmcv, mmcv._ext as ext; assert hasattr(ext, 'nms'); print(mmcv.__version__)")
    assert done.returncode == 0 and done.stdout.strip() == "1.7.2", done.stderr[-2000:]
    check = mmdet_up.build_log("check-mmcv-ops")
    assert "mmcv 1.7.2 ops OK on ['cpu']" in check
    # the build step compiled the ops (not a cached wheel: this is the first workspace)
    assert "Compiling mmcv._ext only with CPU" in mmdet_up.build_log("mmcv-full")


def test_missing_ext_fails_the_check(mmdet_up: Up) -> None:
    """The FAQ's `No module named 'mmcv._ext'`: the check step's code, with the op library hidden, stops clearly."""
    _ok(mmdet_up)
    code = load("mmdetection").recipe.env.profiles["modern"].build[1].argv[2]
    hide = "import sys; sys.modules['mmcv._ext'] = None\n"
    done = mmdet_up.python(hide + code)
    assert done.returncode != 0 and "mmcv._ext is missing" in done.stderr, done.stderr[-2000:]


def test_mmsegmentation_smoke_reuses_the_mmcv_wheel(mmseg_up: Up) -> None:
    _ok(mmseg_up)
    log = mmseg_up.run_log()
    assert "Iter [1/2]" in log and "Iter [2/2]" in log, log[-3000:]
    # The step installed the wheel mmdetection's build left in the shared user cache (pip names the file it takes).
    built = mmseg_up.build_log("mmcv-full")
    assert "/wheels/" in built and "mmcv_full-1.7.2" in built, built[-2000:]
    assert "Compiling mmcv._ext" not in built
    assert "mmcv 1.7.2 ops OK on ['cpu']" in mmseg_up.build_log("check-mmcv-ops")


# -- sm_90 with nvcc 13 ---------------------------------------------------------------------------------------------

CUDA_SUBSET = ["nms_cuda.cu", "roi_align_cuda.cu", "focal_loss_cuda.cu"]
SUBSET_SETUP = """
import os
from setuptools import setup
from torch.utils.cpp_extension import BuildExtension, CUDAExtension
here = os.getcwd()
sources = [os.path.join('mmcv/ops/csrc/pytorch/cuda', f) for f in {files!r}]
setup(
    name='mmcv_cuda_subset',
    ext_modules=[CUDAExtension(
        'mmcv_cuda_subset', sources,
        include_dirs=[os.path.join(here, 'mmcv/ops/csrc/common'), os.path.join(here, 'mmcv/ops/csrc/common/cuda')],
        define_macros=[('MMCV_WITH_CUDA', None)],
        extra_compile_args={{'cxx': ['-std=c++20'], 'nvcc': ['-std=c++20']}},
    )],
    cmdclass={{'build_ext': BuildExtension}},
    script_args=['build_ext', '--build-temp', 'build-sm90', '--build-lib', 'build-sm90/lib'],
)
"""


def test_mmcv_cuda_ops_subset_compiles_for_sm90(mmdet_up: Up) -> None:
    """nms, roi_align and sigmoid focal loss kernels of the patched mmcv-full 1.7.2, compiled by the build step
    runner for `--gpu H100` (TORCH_CUDA_ARCH_LIST 9.0+PTX, FORCE_CUDA, the CUDA headers from torch's nvidia wheels)."""
    nvcc = nvcc_version(os.environ)
    if nvcc is None or not nvcc.startswith("13."):
        pytest.skip(f"needs nvcc 13 (found {nvcc or 'none'})")
    if shutil.which("gcc") is None:
        pytest.skip("needs a host gcc")
    _ok(mmdet_up)
    loaded = load("mmdetection")
    res = resolve(loaded, host_from_flags(gpu="H100"), profile="modern")
    res = res.model_copy(update={"torch": "2.14.1", "torchvision": "0.29.1", "cuda": "13.0"})
    assert res.torch_cuda_arch_list and "9.0" in res.torch_cuda_arch_list
    step = BuildStep(
        name="mmcv-cuda-subset",
        source="mmcv-full",
        argv=["python", "-c", SUBSET_SETUP.format(files=CUDA_SUBSET)],
        clean=["build-sm90"],
    )
    modern = loaded.recipe.env.profiles["modern"].model_copy(update={"build": [step]})
    recipe = loaded.recipe.model_copy(
        update={"env": loaded.recipe.env.model_copy(update={"profiles": {"modern": modern}})}
    )
    plan = BuildPlan(
        recipe=dataclasses.replace(loaded, recipe=recipe),
        resolution=res,
        workspace=Workspace.at(mmdet_up.ws),
        profile="modern",
    )
    start = time.monotonic()
    [log_path] = run_local_steps(plan, mmdet_up.ws / "env", lambda _line: None)
    print(f"mmcv-full CUDA subset for sm_90: {time.monotonic() - start:.0f} s")
    text = log_path.read_text(encoding="utf-8")
    assert "FORCE_CUDA=1" in text and "TORCH_CUDA_ARCH_LIST=9.0" in text
    assert text.count("-gencode=arch=compute_90,code=sm_90") >= len(CUDA_SUBSET)
    built = list((mmdet_up.ws / "src" / "mmcv-full" / "build-sm90" / "lib").glob("mmcv_cuda_subset*.so"))
    assert built, text[-3000:]
