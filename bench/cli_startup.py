"""CLI startup time: median wall time of `legacyrun --help` against `python -c pass`, and the difference.

    python bench/cli_startup.py [-n 20] [--module]

Uses the installed console script next to this interpreter (or `python -m legacyrun` with --module, or when no
script is installed). Goal: the difference stays under 0.3 s, i.e. heavy libraries (docker, git, rattler,
requests, libcst) load only inside the commands that need them. When over, run
`python -X importtime -m legacyrun --help 2>&1 | sort -t'|' -k2 -n | tail` to find the import that costs.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL_S = 0.3


def _median_times(argv: list[str], runs: int) -> tuple[float, float]:
    """(median wall, median user+sys CPU) seconds; CPU time is the steadier figure on a loaded machine."""
    env = dict(os.environ, COLUMNS="120")
    subprocess.run(argv, capture_output=True, check=True, env=env)  # warm the file cache once
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True, env=env)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return statistics.median(walls), statistics.median(cpus)


def _legacyrun_argv(use_module: bool) -> list[str]:
    script = Path(sys.executable).with_name("legacyrun")
    if not use_module and script.is_file():
        return [str(script), "--help"]
    found = None if use_module else shutil.which("legacyrun")
    return [found, "--help"] if found else [sys.executable, "-m", "legacyrun", "--help"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=20, help="runs per command (default 20)")
    parser.add_argument("--module", action="store_true", help="time `python -m legacyrun` instead of the script")
    args = parser.parse_args()

    cli = _legacyrun_argv(args.module)
    bare, bare_cpu = _median_times([sys.executable, "-c", "pass"], args.runs)
    full, full_cpu = _median_times(cli, args.runs)
    diff = full - bare
    label = " ".join(Path(cli[0]).name if i == 0 else a for i, a in enumerate(cli))
    print(f"runs per command: {args.runs}; load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'python -c pass':<28} wall {bare:.3f} s  cpu {bare_cpu:.3f} s (medians)")
    print(f"{label:<28} wall {full:.3f} s  cpu {full_cpu:.3f} s (medians)")
    verdict = "OK" if diff < GOAL_S else "OVER"
    print(f"{'difference':<28} wall {diff:.3f} s  cpu {full_cpu - bare_cpu:.3f} s (goal < {GOAL_S} s wall): {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
