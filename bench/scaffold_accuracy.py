"""How close `legacyrun recipe new --from-repo` comes to the curated recipes, field by field.

    .venv/bin/python bench/scaffold_accuracy.py [--mirror DIR]

Unpacks the real repositories (../shared/upstream, `make-mirror`) unless --mirror names an unpacked one, scaffolds
each built-in project from it (dependent repositories are pinned through the same mirror) and prints, per project,
one row per curated item (pins, sources, build steps, tasks, adapt keys) and the score, then the overall score.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support.scaffold_projects import PROJECTS, curated  # noqa: E402

from legacyrun.fetch.mirrors import Mirrors  # noqa: E402
from legacyrun.infer.accuracy import compare, render, score  # noqa: E402
from legacyrun.recipe.loader import parse_text  # noqa: E402
from legacyrun.share.scaffold import scaffold_recipe  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirror", type=Path, help="an unpacked mirror (make-mirror DIR) to reuse")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="scaffold-accuracy-") as tmp:
        mirror = args.mirror
        if mirror is None:
            make = ROOT.parent / "shared" / "upstream" / "make-mirror"
            if not make.is_file():
                print("../shared/upstream/make-mirror is not beside this checkout", file=sys.stderr)
                return 2
            mirror = Path(tmp) / "mirror"
            subprocess.run(["bash", str(make), str(mirror)], check=True, capture_output=True)
        mirrors = Mirrors.from_sources([f"https://github.com/=file://{mirror.resolve()}/"])
        all_rows = []
        for name, url in PROJECTS.items():
            cur = curated(name)
            if cur is None:
                print(f"{name}: no curated recipe on this branch; skipped")
                continue
            res = scaffold_recipe(name, url, mirrors=mirrors)
            rows = compare(parse_text(res.text, name), cur)
            all_rows += rows
            print(render(name, rows))
            print(f"  TODO items: {len(res.todos)}")
        print(f"overall: {sum(r.ok for r in all_rows)}/{len(all_rows)} ({score(all_rows):.0%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
