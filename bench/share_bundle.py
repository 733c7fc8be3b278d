"""Print how long the sharing layer's hot paths take: name lookup with sources registered, bundle export,
bundle open (first: extract + verify; then: cached), trust check. Run: python bench/share_bundle.py"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _recipe(name: str) -> str:
    return (
        f"schema_version: 1\nname: {name}\ntitle: bench\nsources:\n  - name: {name}\n"
        f"    url: https://example.invalid/{name}.git\n    commit: {COMMIT}\n"
        'env:\n  profiles:\n    faithful: {python: "3.6", torch: "1.4.0"}\n'
        '    modern: {python: "3.11", torch: ">=2.1"}\n'
        f"tasks:\n  train:\n    source: {name}\n    argv: [python, train.py]\n"
    )


def _timed(label: str, fn: object, repeat: int = 5) -> None:
    assert callable(fn)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    print(f"{label:<48} {best * 1000:8.2f} ms (best of {repeat})")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        os.environ["LEGACYRUN_CACHE_DIR"] = str(base / "cache")
        os.environ["LEGACYRUN_CONFIG_DIR"] = str(base / "config")
        from legacyrun.share.bundle import export_bundle, open_bundle
        from legacyrun.share.registry import available, load
        from legacyrun.share.sources import add_source
        from legacyrun.share.trust import is_trusted

        for s in range(3):
            folder = base / f"src{s}"
            folder.mkdir()
            for i in range(50):
                (folder / f"r{s}-{i}.yaml").write_text(_recipe(f"r{s}-{i}"))
            add_source(str(folder), name=f"src{s}")
        _timed("available() with 3 sources x 50 recipes", available)
        _timed("load('src2:r2-49')", lambda: load("src2:r2-49"))
        loaded = load("r2-49")
        patches = base / "patches" / "r2-49"
        patches.mkdir(parents=True)
        for i in range(20):
            (patches / f"p{i}.patch").write_text("x" * 4000)
        out = base / "b.tar.gz"
        _timed("export_bundle (recipe + 20 patches of 4 KB)", lambda: export_bundle(loaded, out))
        t0 = time.perf_counter()
        open_bundle(out)
        print(f"{'open_bundle first (extract + verify)':<48} {(time.perf_counter() - t0) * 1000:8.2f} ms")
        _timed("open_bundle again (cached, verify)", lambda: open_bundle(out))
        _timed("is_trusted (untrusted source recipe)", lambda: is_trusted(loaded))


if __name__ == "__main__":
    main()
