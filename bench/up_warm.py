"""Time of a second (no-op) `legacyrun up`: every step skipped, the task itself trivial.

Builds a legacy-style project once (git repository on file://, dataset on a local HTTP server, venv with
torch 2.13 CPU: minutes), then runs `up` again N times and prints the median wall time and each step's time.
Goal: under 1 s.

    python bench/up_warm.py [-n 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
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


def up(recipe: Path, ws: Path, cache: Path) -> tuple[float, dict[str, float]]:
    env = {
        "LEGACYRUN_CACHE_DIR": str(cache / "cache"),
        "LEGACYRUN_CONFIG_DIR": str(cache / "config"),
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin:/usr/local/bin",
    }
    started = time.perf_counter()
    cp = subprocess.run(
        [
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
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    wall = time.perf_counter() - started
    if cp.returncode != 0:
        sys.exit(f"up failed ({cp.returncode}):\n{cp.stderr[-3000:]}")
    report = json.loads(cp.stdout[cp.stdout.index("{") :])
    return wall, {s["step"]: s["seconds"] for s in report["steps"]}


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
        cold, steps = up(recipe, ws, root)
        print(f"first up (cold unless --keep reused it): {cold:.2f} s  {steps}")
        walls = []
        for _ in range(args.n):
            wall, steps = up(recipe, ws, root)
            walls.append(wall)
        print(
            f"second up, median of {args.n}: {statistics.median(walls):.3f} s (min {min(walls):.3f}, "
            f"max {max(walls):.3f}); goal < 1 s"
        )
        print("last warm run, per step (s): " + ", ".join(f"{k} {v:.3f}" for k, v in steps.items()))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
