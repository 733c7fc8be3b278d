"""Throughput of legacyrun's HTTP download (requests, Range-capable, sha256 while writing) next to `aria2c -x8`,
on the same file served from 127.0.0.1 by the tests' Range server (sendfile).

    .venv/bin/python bench/download.py [--size-mb 1024] [--runs 3] [--dir /tmp]

Prints MB/s per run and the best of each, side by side, and the ratio legacyrun / aria2c (goal >= 0.9).
aria2c does not hash; its column "aria2c+sha256" adds the separate hashing pass a verified download needs.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.http_server import FileServer

from legacyrun.fetch.http import download
from legacyrun.fsutil import sha256_file


def _make_file(path: Path, size: int) -> str:
    block = os.urandom(16 << 20)
    h = hashlib.sha256()
    with path.open("wb") as fh:
        left = size
        while left:
            piece = block[: min(len(block), left)]
            fh.write(piece)
            h.update(piece)
            left -= len(piece)
    return h.hexdigest()


def _legacyrun(url: str, out: Path, sha: str) -> float:
    out.unlink(missing_ok=True)
    start = time.perf_counter()
    done = download([url], out, expected_sha256=sha)
    elapsed = time.perf_counter() - start
    assert done.sha256 == sha
    out.unlink()
    return elapsed


def _aria2c(url: str, out: Path, sha: str) -> tuple[float, float]:
    out.unlink(missing_ok=True)
    argv = [
        "aria2c",
        "-x8",
        "-s8",
        "--min-split-size=16M",
        f"--dir={out.parent}",
        f"--out={out.name}",
        "--file-allocation=none",
        "--allow-overwrite=true",
        "--console-log-level=warn",
        "--summary-interval=0",
        "--show-console-readout=false",
        url,
    ]
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    digest = sha256_file(out, chunk=4 << 20)
    hashed = time.perf_counter() - start
    assert digest == sha
    out.unlink()
    return elapsed, hashed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    if shutil.which("aria2c") is None:
        sys.exit("aria2c is not installed (apt-get install aria2)")
    size = args.size_mb << 20
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        (root / "srv").mkdir()
        sha = _make_file(root / "srv" / "big.bin", size)
        server = FileServer(root / "srv").start()
        url = server.url("big.bin")
        mb = size / 1e6
        rows = []
        try:
            for _ in range(args.runs):
                lr = _legacyrun(url, root / "lr.bin", sha)
                a_dl, a_hash = _aria2c(url, root / "a2.bin", sha)
                rows.append((mb / lr, mb / a_dl, mb / a_hash))
        finally:
            server.stop()
    print(f"file: {size / 1e9:.2f} GB on 127.0.0.1, {args.runs} runs, CPUs: {os.cpu_count()}")
    print(f"{'run':>4} {'legacyrun MB/s':>15} {'aria2c -x8 MB/s':>16} {'aria2c+sha256 MB/s':>19}")
    for i, (lr, a, ah) in enumerate(rows, 1):
        print(f"{i:>4} {lr:>15.0f} {a:>16.0f} {ah:>19.0f}")
    best = [max(col) for col in zip(*rows, strict=True)]
    print(f"best {best[0]:>15.0f} {best[1]:>16.0f} {best[2]:>19.0f}")
    print(f"ratio legacyrun / aria2c -x8: {best[0] / best[1]:.2f}x; vs aria2c+sha256: {best[0] / best[2]:.2f}x")


if __name__ == "__main__":
    main()
