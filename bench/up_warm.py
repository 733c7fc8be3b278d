"""Time of a no-op `legacyrun up`: every step skipped, the task itself trivial.

Builds a legacy-style project once (git repository on file://, dataset on a local HTTP server, venv with
torch 2.13 CPU: minutes), then runs `up` again N times, and `up --dry-run` N times (the chain alone: no task), and
prints for each the command, the median wall time, the median CPU time (user + system of the process and the
subprocesses it starts; stable on a busy machine, where wall time is not) and the subprocesses legacyrun started
(counted from its -vv log). Goal: the no-op chain under 0.3 s.

    python bench/up_warm.py [-n 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.http_server import FileServer
from support.legacy_project import TRAIN_PY, TRAIN_SH, dataset_tarball

RECIPE = """\
schema_version: 1
name: benchproj
title: bench project
sources: [{{name: toy, url: "{git_url}", commit: "{commit}"}}]
env:
  profiles:
    faithful: {{python: "3.6", torch: "0.3.1"}}
    modern: {{python: "3.11", torch: "2.13.0", torchvision: none}}
datasets: [{{name: toy, kind: http, urls: ["{data_url}"], dest: data/toy}}]
patches:
  - {{id: forward, kind: catalog, source: toy, rules: [py-data0-item, py-variable-volatile]}}
adapt:
  reference_gpus: 8
  keys: [{{key: --nproc_per_node, format: shell, files: [train.sh], rule: launcher}}]
tasks:
  train: {{source: toy, argv: [python, -c, "print('ok')"], datasets: [toy]}}
"""


def git(*args: str, cwd: Path) -> str:
    env = {
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@x",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@x",
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "HOME": str(cwd),
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout.strip()


def up_argv(recipe: Path, ws: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "legacyrun",
        "up",
        str(recipe),
        "-w",
        str(ws),
        "--backend",
        "venv",
        "--cpu",
        "--gpus",
        "1",
        "--trust",
        "--json",
        *extra,
    ]


def up(argv: list[str], cache: Path, *, count: bool = False) -> tuple[float, float, dict[str, float], int]:
    """(wall s, CPU s, step -> s, subprocesses legacyrun started (with count: from a -vv log)) of one `up`."""
    env = {
        "LEGACYRUN_CACHE_DIR": str(cache / "cache"),
        "LEGACYRUN_CONFIG_DIR": str(cache / "config"),
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin:/usr/local/bin",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),  # this checkout's legacyrun
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    full = [*argv[:3], "-vv", *argv[3:]] if count else argv  # -vv: legacyrun.proc logs each command it starts
    cp = subprocess.run(full, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if cp.returncode != 0:
        sys.exit(f"up failed ({cp.returncode}):\n{cp.stderr[-3000:]}")
    report = json.loads(cp.stdout[cp.stdout.index("{") :])
    spawned = sum(1 for line in cp.stderr.splitlines() if line.startswith("legacyrun.proc: "))
    return wall, cpu, {s["step"]: s["seconds"] for s in report["steps"]}, spawned


def _figures(name: str, argv: list[str], cache: Path, n: int) -> dict[str, float]:
    runs = [up(argv, cache) for _ in range(n)]
    walls, cpus = [r[0] for r in runs], [r[1] for r in runs]
    spawned = up(argv, cache, count=True)[3]
    print(f"{name}: {shlex.join(argv)}")
    print(
        f"  wall median {statistics.median(walls):.3f} s (min {min(walls):.3f}), CPU median "
        f"{statistics.median(cpus):.3f} s (min {min(cpus):.3f}), subprocesses started by legacyrun: {spawned}"
    )
    print("  last run, per step (s): " + ", ".join(f"{k} {v:.3f}" for k, v in runs[-1][2].items()))
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="work in this folder (reused: the cold build happens once)")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="legacyrun-bench-up-"))
    root.mkdir(parents=True, exist_ok=True)
    repo = root / "repo"
    if not repo.exists():
        repo.mkdir()
        git("init", "-q", "-b", "main", cwd=repo)
        (repo / "train.py").write_text(TRAIN_PY)
        (repo / "train.sh").write_text(TRAIN_SH)
        git("add", "-A", cwd=repo)
        git("commit", "-q", "-m", "legacy", cwd=repo)
    commit = git("rev-parse", "HEAD", cwd=repo)
    server = FileServer(root / "www").start()
    try:
        data_url = server.put("toy.tar.gz", dataset_tarball())
        recipe = root / "benchproj.yaml"
        recipe.write_text(RECIPE.format(git_url=repo.as_uri(), commit=commit, data_url=data_url))
        ws = root / "ws"
        cold, _cpu, steps, _n = up(up_argv(recipe, ws), root)
        print(f"first up (cold unless --keep reused it): {cold:.2f} s  {steps}")
        _figures("no-op up (the task runs)", up_argv(recipe, ws), root, args.n)
        chain = _figures("no-op up --dry-run (the chain alone)", up_argv(recipe, ws, "--dry-run"), root, args.n)
        print(f"goal: the no-op chain under 0.3 s (now {chain['wall']:.3f} s wall, {chain['cpu']:.3f} s CPU)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
