"""Median time of one in-process resolve (goal: < 50 ms once the process is up).

    .venv/bin/python bench/resolve.py [RECIPE] [--gpu H100] [--driver 550.54.15] [-n 200]

Prints the first (cold: knowledge base parsed) and the median warm time, for an assumed host so the figure does
not include the nvidia-smi/gcc/docker probe (which `legacyrun resolve` on a real host adds once).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description="Median time of one in-process resolve.")
    parser.add_argument("recipe", nargs="?", default=str(ROOT / "tests" / "resolve" / "recipes" / "mask2former.yaml"))
    parser.add_argument("--gpu", default="H100")
    parser.add_argument("--driver", default="550.54.15")
    parser.add_argument("-n", type=int, default=200)
    args = parser.parse_args()

    from legacyrun.host import assumed_host
    from legacyrun.resolve.engine import resolve
    from legacyrun.share.registry import load

    loaded = load(args.recipe)
    host = assumed_host(args.gpu, args.driver)
    start = time.perf_counter()
    first = resolve(loaded, host)
    cold = time.perf_counter() - start
    times = []
    for _ in range(args.n):
        start = time.perf_counter()
        resolve(loaded, host)
        times.append(time.perf_counter() - start)
    print(f"recipe {loaded.recipe.name} on {args.gpu} / driver {args.driver}: {first.profile}, torch {first.torch}")
    print(f"first resolve (parses the knowledge base): {cold * 1000:.2f} ms")
    print(f"median of {args.n} resolves: {statistics.median(times) * 1000:.2f} ms (max {max(times) * 1000:.2f} ms)")


if __name__ == "__main__":
    main()
