"""Benchmark `legacyrun scan` against ripgrep running the same detect regexes, plus a no-op re-patch.

    .venv/bin/python bench/scan.py [--files 5000] [--lines 210] [--keep DIR]

Generates a deterministic legacy-style tree (Python, C++/CUDA, shell, YAML, docs) of at least 5,000 files and
1 M lines, then prints wall times: the `legacyrun scan` CLI (a real subprocess), the in-process `scan()` call,
`rg --pcre2 -U` with every rule's detect regex, and `apply_rules` over the already-patched tree (a no-op).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from patching.catalog_fixtures.fixtures import load_fixtures  # noqa: E402

from legacyrun.patching.catalog import TargetVersions, apply_rules, get_rules, scan  # noqa: E402

FILLER = {
    ".py": [
        "    x = self.conv{i}(x)",
        "    out = torch.cat([a, b], dim=1)  # concat features",
        "def block_{i}(inp, width={i}):",
        "    return F.relu(self.bn{i}(inp))",
        "import os",
        "        logger.info('epoch %d step %d', epoch, step)",
        "",
        "    parser.add_argument('--lr', type=float, default=0.01)",
    ],
    ".cu": [
        "  const int idx = blockIdx.x * blockDim.x + threadIdx.x;",
        "  if (idx >= n) return;",
        "__global__ void kernel_{i}(const float* in, float* out, int n) {{",
        "  out[idx] = in[idx] * {i}.0f;",
        "}}",
        "",
    ],
    ".sh": [
        "echo step {i}",
        "CUDA_VISIBLE_DEVICES=0 python tools/test.py --cfg cfg{i}.yaml",
        "export OMP_NUM_THREADS=4",
    ],
    ".yaml": ["  lr: 0.0{i}", "model:", "  depth: {i}", "  - name: layer{i}"],
    ".md": ["Results for table {i}.", "", "| model | mAP |", "See section {i}."],
}
EXT_MIX = [".py"] * 70 + [".cu"] * 10 + [".cpp"] * 5 + [".sh"] * 5 + [".yaml"] * 5 + [".md"] * 5
FIX_EXT = {".cuh": ".cu", ".cpp": ".cpp", ".h": ".cpp", ".c": ".cpp", ".txt": ".sh", ".yml": ".yaml"}


def generate(base: Path, files: int, lines: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    snippets: dict[str, list[str]] = {}
    for fx in load_fixtures():
        ext = os.path.splitext(fx.file)[1] or ".sh"
        ext = FIX_EXT.get(ext, ext)
        snippets.setdefault(".cu" if ext == ".cpp" else ext, []).append(fx.before)
    total = 0
    for n in range(files):
        ext = EXT_MIX[n % len(EXT_MIX)]
        kind = ".cu" if ext == ".cpp" else ext
        out: list[str] = []
        while len(out) < lines:
            if rng.random() < 0.02 and snippets.get(kind):
                out.extend(rng.choice(snippets[kind]).splitlines())
            else:
                out.append(rng.choice(FILLER[kind]).format(i=rng.randrange(100)))
        path = base / f"pkg{n % 50}" / f"mod{n}{ext}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(out) + "\n", encoding="utf-8")
        total += len(out)
    return total


def timed(fn):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def _rg_by_type(rg: str, tree: Path) -> None:
    """One rg run per group of rules sharing file globs, restricted to those globs (what scan's prefilter does)."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for r in get_rules():
        groups.setdefault(r.files, []).append(r.detect)
    for globs, pats in groups.items():
        argv = [rg, "--pcre2", "-U", "-n", "--no-heading", "--no-ignore", "--hidden"]
        argv += [a for g in globs for a in ("-g", g)] + [a for p in pats for a in ("-e", p)] + [str(tree)]
        subprocess.run(argv, capture_output=True, check=False)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--lines", type=int, default=210)
    ap.add_argument("--keep", type=Path)
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    base = Path(tempfile.mkdtemp(prefix="lr-bench-"))
    try:
        tree = args.keep or base / "tree"
        t_gen, nlines = timed(lambda: generate(tree, args.files, args.lines))
        size = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())
        print(f"tree: {args.files} files, {nlines} lines, {size / 1e6:.1f} MB (generated in {t_gen:.1f} s)")
        patterns = [r.detect for r in get_rules()]
        rg = shutil.which("rg")
        cli = [sys.executable, "-m", "legacyrun", "scan", str(tree), "--json"]
        runs: dict[str, list[float]] = {"cli": [], "inproc": [], "rg": [], "rg_typed": []}
        for _ in range(2):
            runs["cli"].append(timed(lambda: subprocess.run(cli, capture_output=True, check=True))[0])
            t, found = timed(lambda: scan(tree))
            runs["inproc"].append(t)
            if rg:
                argv = [rg, "--pcre2", "-U", "-n", "--no-heading", "--no-ignore", "--hidden"]
                argv += [a for p in patterns for a in ("-e", p)] + [str(tree)]
                t, res = timed(lambda: subprocess.run(argv, capture_output=True, check=False))  # noqa: B023
                runs["rg"].append(t)
                runs["rg_typed"].append(timed(lambda: _rg_by_type(rg, tree))[0])
        best = {k: min(v) for k, v in runs.items() if v}
        print(f"legacyrun scan (CLI, --json):   {best['cli']:.2f} s  ({len(found)} findings)")
        print(f"scan() in process:              {best['inproc']:.2f} s")
        if rg:
            hits = res.stdout.count(b"\n")
            print(f"rg --pcre2 -U, {len(patterns)} regexes:    {best['rg']:.2f} s  ({hits} lines, rc={res.returncode})")
            print(f"rg per file type (as scan does): {best['rg_typed']:.2f} s")
            fastest = min(best["rg"], best["rg_typed"])
            print(f"ratio scan CLI / fastest rg:    {best['cli'] / fastest:.2f}x   (goal <= 2x)")
        else:
            print("rg: not installed (apt-get install ripgrep)")
        target = TargetVersions("2.6", python="3.12", cuda="12.4")
        t_patch, changes = timed(lambda: apply_rules(tree, ["set:all"], [], [], target))
        for rel, (_old, new) in changes.items():
            (tree / rel).write_text(new, encoding="utf-8")
        t_noop, again = timed(lambda: apply_rules(tree, ["set:all"], [], [], target))
        print(f"apply_rules (patch {len(changes)} files): {t_patch:.2f} s")
        print(f"apply_rules no-op re-patch:     {t_noop:.2f} s  ({len(again)} changes)")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
