"""Time `explain_file` on a large synthetic training log (default 100 MB) with one real error at the end:
the grep fast path (used for big files when grep is installed) and the pure-Python streaming path.

Run: .venv/bin/python bench/explain_speed.py [MEGABYTES]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from legacyrun.run.explain import explain_chunks, explain_file, iter_blocks, load_signatures

_LINES = [
    "2026-11-27 10:{m:02d}:{s:02d} maskrcnn_benchmark.trainer INFO: eta: 1 day, 2:03:04  iter: {i}  loss: 1.2345 "
    "(1.3456)  loss_classifier: 0.2345 (0.2456)  loss_box_reg: 0.1234  time: 0.5012  data: 0.0123  lr: 0.002500  "
    "max mem: 3456\n",
    "Epoch [{i}][100/5000]\tlr: 2.000e-02, eta: 12:34:56, time: 0.612, data_time: 0.021, memory: 4321, "
    "loss_rpn_cls: 0.0456, loss_rpn_bbox: 0.0234, loss_cls: 0.3456, acc: 91.2345, loss_bbox: 0.2345\n",
    "(epoch: {i}, iters: 400, time: 0.051, data: 0.002) G_GAN: 1.234 G_L1: 12.345 D_real: 0.456 D_fake: 0.567\n",
    '  File "/usr/lib/python3.8/site-packages/torch/nn/modules/module.py", line 889, in _call_impl\n',
]


def make_log(path: Path, megabytes: int) -> None:
    target = megabytes << 20
    with path.open("w", encoding="utf-8") as fh:
        written, i = 0, 0
        while written < target:
            block = "".join(
                _LINES[(i + k) % len(_LINES)].format(i=i + k, m=(i // 60) % 60, s=i % 60) for k in range(1000)
            )
            fh.write(block)
            written += len(block)
            i += 1000
        fh.write("RuntimeError: CUDA out of memory. Tried to allocate 20.00 MiB (GPU 0; 3.95 GiB total capacity)\n")


def main() -> None:
    megabytes = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    load_signatures()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "train.log"
        make_log(log, megabytes)
        size = log.stat().st_size
        t0 = time.perf_counter()
        matches = explain_file(log)
        dt = time.perf_counter() - t0
        t0 = time.perf_counter()
        with log.open(encoding="utf-8", errors="replace", newline="") as fh:
            py_matches = explain_chunks(iter_blocks(fh))
        dt_py = time.perf_counter() - t0
    sigset = load_signatures()
    mib = size / 2**20
    print(f"log: {mib:.1f} MiB, signatures: {len(sigset.signatures)}, gates: {len(sigset.gates)}")
    print(f"explain_file (grep path): {dt:.2f} s ({mib / dt:.1f} MiB/s); first match: {matches[0].signature_id}")
    print(f"pure-Python path:         {dt_py:.2f} s ({mib / dt_py:.1f} MiB/s); same result: {py_matches == matches}")


if __name__ == "__main__":
    main()
