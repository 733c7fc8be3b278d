"""Time of a no-op re-patch (the second `legacyrun patch` / `up` on a patched workspace), beside the first apply.

Generates a legacy-style git repository (default 5,000 files, ~1 M lines) and a recipe with 7 regex patches,
applies them once, then times re-runs that find everything in place: through the core API and through the CLI
(a real `python -m legacyrun patch` subprocess, so interpreter start-up is included).

    .venv/bin/python bench/repatch.py [--files 5000] [--lines 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LEGACY_LINES = [
    "loss = criterion(output, target)",
    "losses.update(loss.data[0], input.size(0))",
    "x = Variable(x.cuda(), volatile=True)",
    "net.cuda(device_id=gpu_ids[0])",
    "mask = torch.ByteTensor(n).fill_(0)",
    "import torch.nn.functional as F",
    "# a comment line of the kind every file has",
]

PATCH_IDS = [
    ("data0", r"\.data\[0\]", ".item()"),
    ("volatile", r", volatile=True", ""),
    ("device-id", r"cuda\(device_id=", "cuda("),
    ("byte-mask", r"torch\.ByteTensor", "torch.BoolTensor"),
    ("scale", r"transforms\.Scale\(", "transforms.Resize("),
    ("upsample", r"F\.upsample\(", "F.interpolate("),
    ("sigmoid", r"F\.sigmoid\(", "torch.sigmoid("),
]


def _git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b"}
    env["GIT_COMMITTER_EMAIL"] = "b@b"
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def make_tree(root: Path, files: int, lines: int) -> str:
    root.mkdir(parents=True)
    for i in range(files):
        path = root / f"pkg{i % 50}" / f"mod{i}.py"
        path.parent.mkdir(exist_ok=True)
        body = [LEGACY_LINES[(i + j) % len(LEGACY_LINES)] for j in range(lines)]
        body += ["y = transforms.Scale(256)", "z = F.upsample(x, 2)", "s = F.sigmoid(x)"] if i == 0 else []
        path.write_text("\n".join(body) + "\n")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "legacy")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
    sha = head.stdout.strip()
    _git(root, "checkout", "-q", "--detach", sha)
    return sha


def recipe_text(commit: str) -> str:
    lines = [
        "schema_version: 1",
        "name: bench",
        "title: bench",
        "sources: [{name: proj, url: 'file:///bench.git', commit: " + commit + "}]",
        "env: {profiles: {faithful: {python: '3.6', torch: '0.4.1'}, modern: {python: '3.11', torch: '>=2.1'}}}",
        "patches:",
    ]
    for pid, find, replace in PATCH_IDS:
        lines.append(
            f"  - {{id: {pid}, kind: regex, source: proj, files: ['**/*.py'], find: '{find}', replace: '{replace}'}}"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--lines", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from legacyrun.patching.engine import apply, plan_patches
    from legacyrun.patching.target import target_for_profile
    from legacyrun.recipe.loader import load_path
    from legacyrun.workspace import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.at(Path(tmp) / "ws")
        t0 = time.perf_counter()
        commit = make_tree(ws.source_dir("proj"), args.files, args.lines)
        gen = time.perf_counter() - t0
        recipe = Path(tmp) / "bench.yaml"
        recipe.write_text(recipe_text(commit))
        loaded = load_path(recipe)
        target = target_for_profile(loaded.recipe, "modern")
        total_lines = args.files * args.lines
        print(f"tree: {args.files} files, {total_lines:,} lines (generated in {gen:.1f} s)")

        t0 = time.perf_counter()
        first = apply(plan_patches(loaded, ws, target))
        print(f"first apply: {len(first.sources[0].applied)} patches in {time.perf_counter() - t0:.2f} s")

        api = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            again = apply(plan_patches(loaded, ws, target))
            api.append(time.perf_counter() - t0)
            assert again.changes == 0, again.summary()
        print(f"no-op re-patch (core API): median {statistics.median(api) * 1000:.1f} ms over {args.repeat} runs")

        cli = []
        argv = [sys.executable, "-m", "legacyrun", "patch", str(recipe), "-w", str(ws.root), "--profile", "modern"]
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            done = subprocess.run(argv, capture_output=True, text=True, check=True)
            cli.append(time.perf_counter() - t0)
        print(
            f"no-op re-patch (CLI subprocess): median {statistics.median(cli) * 1000:.1f} ms; "
            f"said: {done.stdout.strip().splitlines()[-1]}"
        )


if __name__ == "__main__":
    main()
