"""Native-extension build steps (maskrcnn_benchmark `setup.py build develop`, Mask2Former `make.sh`) and the
pip requirement lines every backend installs.

The step environment is the same everywhere: TORCH_CUDA_ARCH_LIST from the resolution (so a GPU-less build host
still compiles kernels for the target GPU), FORCE_CUDA=1 for CUDA steps, CUDA_HOME, and CC/CXX of the pinned GCC.
Stale build directories are removed first: a build/ left from another torch version links but crashes at import.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from legacyrun.backends.base import BuildPlan, OnFailure, Progress
from legacyrun.errors import BuildError
from legacyrun.invocation import command
from legacyrun.recipe.models import BuildStep


def _req_name(line: str) -> str | None:
    try:
        return Requirement(line).name.lower().replace("_", "-")
    except InvalidRequirement:
        return None


def pip_lines(plan: BuildPlan) -> list[str]:
    """Resolved pip specs (torch first) plus the profile's extras whose names the resolution did not pin."""
    res = plan.resolution
    lines = list(res.pip_specs)
    if res.installer == "conda":
        # torch and friends come from conda; only the profile's pure-pip extras go through pip.
        lines = [ln for ln in lines if _req_name(ln) not in {"torch", "torchvision", "pytorch"}]
    seen = {_req_name(ln) for ln in lines}
    for extra in plan.profile_spec.pip:
        if _req_name(extra) not in seen:
            lines.append(extra)
            seen.add(_req_name(extra))
    return lines


def pip_index_args(plan: BuildPlan) -> list[str]:
    """pip options for the PyTorch wheel index of this CUDA variant (as extra index: PyPI stays for the rest)."""
    from legacyrun.fetch.mirrors import rewrite_prefix

    res = plan.resolution
    args: list[str] = []
    if res.pip_index_url:
        args += ["--extra-index-url", rewrite_prefix(res.pip_index_url, plan.mirrors)]
    if res.pip_find_links:
        args += ["--find-links", rewrite_prefix(res.pip_find_links, plan.mirrors)]
    return args


def gcc_names(version: str | None) -> tuple[str, str] | None:
    """('gcc-7', 'g++-7') for a pinned GCC major, None when no GCC is pinned."""
    if not version:
        return None
    major = version.split(".")[0]
    return f"gcc-{major}", f"g++-{major}"


def step_env(plan: BuildPlan, step: BuildStep, *, cuda_home: str | None) -> dict[str, str]:
    """Environment of one build step: arch list, FORCE_CUDA, CUDA_HOME, CC/CXX, then the step's own env."""
    res = plan.resolution
    env: dict[str, str] = {}
    if res.torch_cuda_arch_list:
        env["TORCH_CUDA_ARCH_LIST"] = res.torch_cuda_arch_list
    if step.cuda and res.cuda:
        env["FORCE_CUDA"] = "1"
    if cuda_home:
        env["CUDA_HOME"] = cuda_home
    names = gcc_names(res.gcc)
    if names:
        env["CC"], env["CXX"] = names
    env.update(step.env)
    return env


def local_cuda_home(plan: BuildPlan, prefix: Path) -> str | None:
    """CUDA_HOME for a conda/venv build: the env's own nvcc, else $CUDA_HOME, else /usr/local/cuda-X.Y."""
    if (prefix / "bin" / "nvcc").exists():
        return str(prefix)
    if os.environ.get("CUDA_HOME"):
        return os.environ["CUDA_HOME"]
    cuda = plan.resolution.cuda
    for cand in ([f"/usr/local/cuda-{cuda}"] if cuda else []) + ["/usr/local/cuda"]:
        if Path(cand, "bin", "nvcc").exists():
            return cand
    return None


def clean_paths(cwd: Path, paths: list[str]) -> None:
    """Remove stale build outputs (relative to the step's cwd; the recipe validator keeps them inside)."""
    for rel in paths:
        target = cwd / rel
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()


def run_local_steps(
    plan: BuildPlan, prefix: Path, progress: Progress, *, on_failure: OnFailure | None = None
) -> list[Path]:
    """Run the profile's build steps with the env's bin first on PATH; one log per step; returns the logs."""
    from legacyrun import proc

    logs: list[Path] = []
    bin_dir = prefix / "bin"
    cuda_home = local_cuda_home(plan, prefix)
    for step in plan.profile_spec.build:
        cwd = plan.workspace.source_dir(step.source) / step.cwd
        if not cwd.is_dir():
            raise BuildError(
                f"build step {step.name}: {cwd} does not exist",
                hint=f"run `{command('fetch', plan.recipe.recipe.name)}` first",
            )
        clean_paths(cwd, step.clean)
        env: dict[str, str | None] = dict(step_env(plan, step, cuda_home=cuda_home))
        env["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(prefix)
        env["CONDA_PREFIX"] = str(prefix)
        env["PYTHONNOUSERSITE"] = "1"
        argv = list(step.argv)
        if argv[0] in ("python", "python3"):
            argv[0] = str(bin_dir / "python")
        log_path = plan.workspace.logs / f"build-{step.name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        progress(f"build step {step.name}: {' '.join(argv)} (in {cwd})")
        stream = proc.stream(argv, cwd=cwd, env=env)
        with log_path.open("w", encoding="utf-8") as log:
            for line in stream:
                log.write(line + "\n")
                progress(line)
        logs.append(log_path)
        if stream.returncode != 0:
            fail_with_log(f"build step {step.name} failed (exit {stream.returncode})", log_path, on_failure)
    return logs


def fail_with_log(message: str, log_path: Path, on_failure: OnFailure | None) -> None:
    """Hand the log to the explainer hook, then raise a BuildError that names the log."""
    if on_failure is not None:
        try:
            text = log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        on_failure(text)
    raise BuildError(f"{message}; log: {log_path}", hint=f"read {log_path}; `legacyrun explain` reads it too")


def merged(*maps: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in maps:
        out.update(m)
    return out


__all__ = [
    "clean_paths",
    "fail_with_log",
    "gcc_names",
    "local_cuda_home",
    "merged",
    "pip_index_args",
    "pip_lines",
    "run_local_steps",
    "step_env",
]
