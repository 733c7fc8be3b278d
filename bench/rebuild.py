"""The fix-build-retry loop on the real Mask2Former (venv, torch 2.14.1), each phase against its floor:

- cold: the first `legacyrun build` (venv, every requirement, detectron2 and the MSDeformAttn op compiled);
- no-op: `legacyrun build` again (nothing changed: the env id and every step key are current);
- floor: the same compile by hand: an edit of the op's `ms_deform_attn_cuda.cu`, then `python setup.py build_ext`
  in the op's folder with the env's python and the step's environment (no compiler cache), build/ kept, as a
  researcher iterating on the op would do;
- patch-only: another edit of that .cu, then `legacyrun build` (only the op's step reruns, its build/ is kept,
  ninja and ccache recompile the one changed file); the installed .so must carry the edit;
- failed + retry: a compile error in the .cu (`build` fails), then the fix and `build` again: the env is kept, the
  retry resumes at the failed step.

Goals (issue 12): patch-only <= 15% of cold, retry <= 1.2x the floor.

The plan is the CUDA one for an H100 (`lock --gpu H100`): the recipe's op step is `cpu: skip` on a CPU plan, and
nvcc (CUDA 13) plus the CUDA headers of torch's nvidia wheels compile sm_90 on a machine without a GPU. No task
runs (there is no GPU), so the no-op figure is `build`'s, not `up`'s. Edits are real code (an exported string in
the .cu), not comments, which a compiler cache would see through.

    python bench/rebuild.py [--keep DIR [--reuse]]

About 15 minutes on 2 busy cores (most of it the cold build).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seed_build import PINS, ROOT, legacyrun

RECIPE = "mask2former"
OP_DIR = "src/mask2former/mask2former/modeling/pixel_decoder/ops"
CU = f"{OP_DIR}/src/cuda/ms_deform_attn_cuda.cu"
TORCH_INDEX = "https://download.pytorch.org/whl/cu130"
RUN_ID = str(time.time_ns())


def edit(cu: Path, original: bytes, tag: str) -> None:
    """A real code change (a string the .so then carries), as a patch to the op would make. The tag is unique per
    run of the bench: an edit compiled before is a compiler cache hit, which is not what this measures."""
    code = f'\nextern "C" const char legacyrun_bench_edit[] = "bench-edit-{tag}-{RUN_ID}";\n'
    cu.write_bytes(original + code.encode())


def installed_so(prefix: Path) -> Path:
    found = sorted(prefix.glob("lib/python*/site-packages/MultiScaleDeformableAttention*.so"))
    if not found:
        raise SystemExit(f"no MultiScaleDeformableAttention .so in {prefix}")
    return found[0]


def hand_compile(ws: Path) -> float:
    """`python setup.py build_ext` in the op's folder with the step's environment, without the compiler cache."""
    os.environ["LEGACYRUN_CCACHE"] = "0"
    from legacyrun.backends.native import local_setup, local_step_env
    from legacyrun.share.registry import load
    from legacyrun.usecases.build import plan_from_lock
    from legacyrun.workspace import Workspace

    plan = plan_from_lock(load(RECIPE), Workspace.at(ws))
    step = next(s for s in plan.profile_spec.build if s.name == "msdeformattn")
    prefix = ws / "env"
    step_env, _notes = local_step_env(plan, step, prefix, local_setup(plan, prefix, [step]))
    # The same compile commands as legacyrun's build.ninja for the unchanged .cpp files (torch would otherwise put
    # its own ccache in front of g++, and ninja would recompile them for the changed command line): by hand, only
    # the edited .cu is compiled, which is the floor.
    env = dict(os.environ, TORCH_NO_COMPILER_WRAPPER="1")
    for key, value in step_env.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    started = time.monotonic()
    done = subprocess.run(
        [str(prefix / "bin" / "python"), "setup.py", "build_ext"],
        cwd=ws / OP_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"hand compile failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return elapsed


def bench(base: Path, mirror: Path, *, reuse: bool = False) -> dict[str, object]:
    ws = base / "ws"
    empty = base / "empty-index"
    empty.mkdir(exist_ok=True)
    env = dict(os.environ, LEGACYRUN_CACHE_DIR=str(base / "cache"), LEGACYRUN_CONFIG_DIR=str(base / "config"))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    # The PyTorch index is unreachable here: pip takes torch from this machine's disk (its own configuration).
    mirrors = ["--mirror", f"https://github.com/=file://{mirror}/", "--mirror", f"{TORCH_INDEX}={empty.as_uri()}"]
    w = ["-w", str(ws)]

    def run(*args: str, ok: bool = True) -> float:
        elapsed, done = legacyrun(*args, *w, env=env)
        if ok and done.returncode != 0:
            raise SystemExit(f"legacyrun {' '.join(args)} failed:\n{(done.stdout + done.stderr)[-4000:]}")
        if not ok and done.returncode == 0:
            raise SystemExit(f"legacyrun {' '.join(args)} should have failed")
        return elapsed

    build = ("build", RECIPE, "--backend", "venv", *mirrors)
    cold: float | None = None
    if not (reuse and (ws / "env" / ".legacyrun-env-id").is_file()):
        run("lock", RECIPE, "--gpu", "H100", "-p", "modern", *PINS)
        run("fetch", RECIPE, "--code", *mirrors)
        run("patch", RECIPE)
        cold = run(*build)
    run(*build)  # settles any leftover edit of a reused workspace
    noop = run(*build)

    cu = ws / CU
    original = cu.read_bytes()
    edit(cu, original, "floor")
    floor = hand_compile(ws)

    edit(cu, original, "patch")
    patch_only = run(*build)
    so = installed_so(ws / "env")
    if f"bench-edit-patch-{RUN_ID}".encode() not in so.read_bytes():
        raise SystemExit(f"{so} does not carry the patched source")

    cu.write_bytes(original + b"\n#error legacyrun bench: a compile error\n")
    failed = run(*build, ok=False)
    edit(cu, original, "fixed")
    retry = run(*build)
    if f"bench-edit-fixed-{RUN_ID}".encode() not in so.read_bytes():
        raise SystemExit(f"{so} does not carry the fixed source")
    cu.write_bytes(original)
    return {
        "cold_build_s": round(cold, 1) if cold else "reused workspace (not measured)",
        "noop_build_s": round(noop, 2),
        "floor_hand_compile_s": round(floor, 1),
        "patch_only_build_s": round(patch_only, 1),
        "patch_only_vs_cold": f"{patch_only / cold:.1%} (goal <= 15%)" if cold else "-",
        "patch_only_vs_floor": f"{patch_only / floor:.2f}x",
        "failed_build_s": round(failed, 1),
        "retry_build_s": round(retry, 1),
        "retry_vs_floor": f"{retry / floor:.2f}x (goal <= 1.2x)",
        "installed_so_sha256": hashlib.sha256(so.read_bytes()).hexdigest()[:16],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, help="keep the workspace here (default: a temporary folder)")
    parser.add_argument("--reuse", action="store_true", help="with --keep: reuse a built workspace (no cold build)")
    args = parser.parse_args()
    shared = ROOT.parent / "shared" / "upstream" / "make-mirror"
    if not shared.is_file():
        raise SystemExit("../shared/upstream is not beside this checkout")
    if shutil.which("nvcc") is None and not os.environ.get("CUDA_HOME"):
        raise SystemExit("needs nvcc (CUDA 13) to compile the op for sm_90")
    base = args.keep or Path(tempfile.mkdtemp(prefix="legacyrun-rebuild-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    mirror = base / "mirror"
    if not mirror.is_dir():
        subprocess.run(["bash", str(shared), str(mirror)], check=True, capture_output=True)
    try:
        figures = bench(base, mirror, reuse=args.reuse)
        print(f"{RECIPE} (venv, CUDA plan for H100, torch 2.14.1):")
        for key, value in figures.items():
            print(f"  {key:<24} {value}")
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
