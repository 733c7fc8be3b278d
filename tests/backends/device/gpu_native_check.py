"""Device check (run by hand on a GPU machine, not collected by pytest): a native CUDA extension built through
legacyrun's build-step runner with TORCH_CUDA_ARCH_LIST from a Resolution, then run on the GPU.

    PYTHONPATH=.:tests python tests/backends/device/gpu_native_check.py OUTDIR
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

KERNEL = r"""
#include <torch/extension.h>
__global__ void add_one(float* x, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) x[i] += 1.0f; }
void add_one_(torch::Tensor x) { int n = x.numel(); add_one<<<(n + 255) / 256, 256>>>(x.data_ptr<float>(), n); }
PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) { m.def("add_one_", &add_one_); }
"""

SETUP = """
from setuptools import setup
from torch.utils.cpp_extension import BuildExtension, CUDAExtension
setup(name="addone", ext_modules=[CUDAExtension("addone", ["addone.cu"])], cmdclass={"build_ext": BuildExtension})
"""


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {}
    smi = subprocess.run(
        ["nvidia-smi", "--query-gpu=name,driver_version,compute_cap", "--format=csv,noheader"],
        capture_output=True,
        text=True,
        check=False,
    )
    report["nvidia_smi"] = smi.stdout.strip() or smi.stderr.strip()
    report["nvcc"] = shutil.which("nvcc")
    try:
        import torch

        report["torch"] = torch.__version__
        report["torch_cuda"] = torch.version.cuda
        report["cuda_available"] = torch.cuda.is_available()
    except ImportError as exc:
        report["torch"] = f"missing: {exc}"
        print(json.dumps(report, indent=2))
        return 0
    if not (report["nvcc"] and report["cuda_available"]):
        print(json.dumps(report, indent=2))
        return 0
    sys.path.insert(0, "tests")
    from support.backend_plans import gpu_host, plan_factory, resolution

    from legacyrun.backends.native import run_local_steps

    work = out / "work"
    ws = work / "ws"
    src = ws / "src" / "proj"
    (src / "build" / "stale").mkdir(parents=True, exist_ok=True)
    (src / "addone.cu").write_text(textwrap.dedent(KERNEL))
    (src / "setup.py").write_text(SETUP)
    prefix = work / "env"
    (prefix / "bin").mkdir(parents=True, exist_ok=True)
    shim = prefix / "bin" / "python"
    if not shim.exists():
        # A wrapper, not a symlink: a symlinked venv interpreter outside its venv loses the venv's site-packages.
        shim.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
        shim.chmod(0o755)
    cap = torch.cuda.get_device_capability()
    arch = f"{cap[0]}.{cap[1]}"
    profiles = {
        "faithful": {
            "python": "3.11",
            "torch": "2.13.0",
            "build": [
                {
                    "name": "addone",
                    "source": "proj",
                    "argv": ["python", "setup.py", "build_ext", "--inplace"],
                    "clean": ["build"],
                }
            ],
        }
    }
    res = resolution(profile="faithful", cuda=torch.version.cuda, torch_cuda_arch_list=arch, host=gpu_host("12.4"))
    plan = plan_factory(work)(res, profiles=profiles, workspace=ws)
    try:
        run_local_steps(plan, prefix, lambda _line: None)
    finally:
        for log in (ws / ".legacyrun" / "logs").glob("*.log"):
            shutil.copy(log, out / log.name)
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "import torch, addone; x = torch.zeros(1000, device='cuda'); addone.add_one_(x); "
            "torch.cuda.synchronize(); print(float(x.sum()))",
        ],
        cwd=src,
        capture_output=True,
        text=True,
        check=False,
    )
    report["arch_list"] = arch
    report["kernel_sum"] = check.stdout.strip() or check.stderr.strip()[-500:]
    report["stale_build_removed"] = not (src / "build" / "stale").exists()
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
