"""Build times of the built-in seed recipes on their real upstream code (../shared/upstream), per recipe:

- cold: the first `up --cpu --smoke` (venv with torch 2.14.1 + torchvision 0.29.1 from this disk, every native build
  step compiled for the CPU), split into its steps, and the time to the first smoke iteration;
- no-op: a second `up` (every step before the task skipped; the task is replaced by a trivial one with --dry-run,
  so only the chain's own cost is timed);
- retry: the fix-build-retry loop. A compile error is put into a C++ file of the first build step's tree (an
  uncommitted edit, as a researcher's would be): `legacyrun build` sees the changed tree and fails on it; the edit
  is undone and `build` runs again. The venv and its requirements are kept: only the native step reruns.

    python bench/seed_build.py [--recipe mask2former] [--recipe masktextspotter] [--keep DIR]

Prints one block per recipe. Minutes per recipe on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PINS = ["--pin", "torch=2.14.1", "--pin", "torchvision=0.29.1"]
# A C++ file compiled by each recipe's first build step (the bench breaks it, then mends it).
BROKEN = {
    "mask2former": "src/detectron2/detectron2/layers/csrc/vision.cpp",
    "masktextspotter": "src/masktextspotter/maskrcnn_benchmark/csrc/vision.cpp",
}


def legacyrun(*args: str, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "legacyrun", *args], env=env, capture_output=True, text=True, check=False
    )
    return time.monotonic() - started, done


def up_streamed(args: list[str], env: dict[str, str]) -> tuple[float, float | None, dict[str, float], int]:
    """Run `up` as a user does; (total s, s to the first training iteration line, step -> s, exit code)."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "legacyrun", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    first: float | None = None
    steps: dict[str, float] = {}
    step_line = re.compile(r"^(\S+)\s+(done|skipped|failed)\s+([\d.]+)s")
    assert proc.stdout is not None
    for line in proc.stdout:
        if first is None and re.search(r"\biter: ?[01]\b", line):
            first = time.monotonic() - started
        found = step_line.match(line.strip())
        if found:
            steps[found.group(1)] = float(found.group(3))
    code = proc.wait()
    return time.monotonic() - started, first, steps, code


def bench(recipe: str, base: Path, mirror: Path) -> dict[str, object]:
    ws = base / recipe
    env = dict(os.environ, LEGACYRUN_CACHE_DIR=str(base / "cache"), LEGACYRUN_CONFIG_DIR=str(base / "config"))
    common = ["--cpu", "--smoke", "--backend", "venv", *PINS, "--mirror", f"https://github.com/=file://{mirror}/"]
    cold, first, steps, code = up_streamed(["up", recipe, *common, "-w", str(ws)], env)
    if code != 0:
        raise SystemExit(f"{recipe}: cold up failed (exit {code}); see {ws}/runs and {ws}/.legacyrun/logs")
    noop, done = legacyrun("up", recipe, *common, "-w", str(ws), "--dry-run", "--json", env=env)
    statuses = {s["step"]: s["status"] for s in json.loads(done.stdout)["steps"]}

    # A failed native step (a compile error in the tree), then the retry after the fix.
    victim = ws / BROKEN[recipe]
    original = victim.read_bytes()
    victim.write_bytes(original + b"\n#error legacyrun bench: a compile error\n")
    try:
        fail, done = legacyrun("build", recipe, "--backend", "venv", "-w", str(ws), env=env)
    finally:
        victim.write_bytes(original)
    retry, done2 = legacyrun("build", recipe, "--backend", "venv", "-w", str(ws), env=env)
    return {
        "cold_up_s": round(cold, 1),
        "cold_steps_s": {k: round(v, 1) for k, v in steps.items()},
        "to_first_smoke_iteration_s": round(first, 1) if first is not None else None,
        "noop_up_s": round(noop, 2),
        "noop_statuses": statuses,
        "failed_build_s": round(fail, 1),
        "failed_build_exit": done.returncode,
        "retry_build_s": round(retry, 1),
        "retry_exit": done2.returncode,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", action="append", choices=["mask2former", "masktextspotter"])
    parser.add_argument("--keep", type=Path, help="keep workspaces here (default: a temporary folder)")
    args = parser.parse_args()
    shared = ROOT.parent / "shared" / "upstream" / "make-mirror"
    if not shared.is_file():
        raise SystemExit("../shared/upstream is not beside this checkout")
    base = args.keep or Path(tempfile.mkdtemp(prefix="legacyrun-seed-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    mirror = base / "mirror"
    subprocess.run(["bash", str(shared), str(mirror)], check=True, capture_output=True)
    try:
        for recipe in args.recipe or ["mask2former", "masktextspotter"]:
            figures = bench(recipe, base, mirror)
            print(f"{recipe}:")
            for key, value in figures.items():
                print(f"  {key:<28} {value}")
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
