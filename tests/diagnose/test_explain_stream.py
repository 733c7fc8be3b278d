"""explain on big logs: the same answer as on the errors alone (grep path and Python path, lines cut by blocks),
and memory that does not grow with the log (a peak well under 100 MB for a log bigger than that)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from support.excerpts import Excerpt

from legacyrun.diagnose import Match, explain_chunks, explain_file, explain_text, iter_blocks
from legacyrun.diagnose import scanner as ex

ROOT = Path(__file__).resolve().parents[2]

# Healthy training output; several lines hold gate words of the Python path ("default", "argument", "device",
# "cuda", "not ", "found") without being a failure.
FILLER = (
    "[11/27 10:00:{s:02d} d2.utils.events]:  eta: 1 day, 2:03:04  iter: {i}  total_loss: 2.345  loss_ce: 0.5012  "
    "loss_mask: 0.3121  time: 0.5012  data_time: 0.0123  lr: 0.0001  max_mem: 3456M\n"
    "/usr/lib/python3.8/site-packages/torch/functional.py:445: UserWarning: torch.meshgrid: in an upcoming release, "
    "it will be required to pass the indexing argument.\n"
    '  warnings.warn("The default behavior for interpolate/upsample with float scale_factor changed "\n'
    "Namespace(batch_size=16, device='cuda', resume=False)  # checkpoint not found, training from scratch\n"
    " 45%|\u2588\u2588\u2588\u2588      | 450/1000 [00:12<00:15, 36.12it/s]\r 46%|\u2588\u2588\u2588\u2588      | "
    "460/1000 [00:12<00:14, 36.30it/s]\n"
)


def _filler(min_bytes: int) -> tuple[bytes, int]:
    """Healthy lines of at least min_bytes: (text, number of lines)."""
    block = "".join(FILLER.format(i=i, s=i % 60) for i in range(200)).encode()
    reps = -(-min_bytes // len(block))
    return block * reps, block.count(b"\n") * reps


def _errors(excerpts: list[Excerpt]) -> bytes:
    """Every excerpt (tests/diagnose/excerpts/), with progress bars, colour codes and bad UTF-8 between them."""
    parts = []
    for i, text in enumerate(e.text for e in excerpts):
        parts.append(f"iter {i}: 10%|#  |\r20%|##  |\r\x1b[32mok\x1b[0m\n".encode())
        parts.append(text.encode())
        parts.append(b"\xff\xfe not utf-8\r\n")
    return b"".join(parts)


def _shifted(matches: list[Match], lines: int) -> list[Match]:
    return [replace(m, line=m.line + lines) for m in matches]


def test_filler_is_healthy() -> None:
    assert explain_text(_filler(1)[0].decode()) == []


def test_big_log_gives_the_small_logs_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, excerpts: list[Excerpt]
) -> None:
    errors = _errors(excerpts)
    small = tmp_path / "small.log"
    small.write_bytes(errors)
    expected = explain_file(small, include_generic=True)
    assert len(expected) >= 100
    head, head_lines = _filler(5 << 20)
    tail, _ = _filler(1 << 20)
    big = tmp_path / "big.log"
    big.write_bytes(head + errors + tail)
    assert big.stat().st_size >= ex._GREP_MIN_BYTES  # explain_file takes the grep path
    want = _shifted(expected, head_lines)
    assert explain_file(big, include_generic=True) == want
    # The Python path, in blocks that cut lines (and UTF-8 sequences) at other places each time.
    for block in (65521, (1 << 20) + 7):
        with big.open(encoding="utf-8", errors="replace", newline="") as fh:
            assert explain_chunks(iter_blocks(fh, block), include_generic=True) == want
    monkeypatch.setattr(ex, "_grep_binary", lambda: None)
    assert explain_file(big, include_generic=True) == want


def test_a_line_longer_than_a_piece_is_still_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A tqdm bar that only ever rewrites itself with \r: one "line" of several MB, the failure at its end.
    monkeypatch.setattr(ex, "_GREP_MIN_BYTES", 1)
    bar = "".join(f"{p % 100:3d}%|####      | {p}/100000 [00:12<00:15, 36.12it/s]\r" for p in range(60000))
    log = tmp_path / "bar.log"
    log.write_text("start\n" + bar + "RuntimeError: CUDA out of memory. Tried to allocate 2 MiB\nend\n", "utf-8")
    (found,) = explain_file(log)
    assert (found.signature_id, found.line) == ("cuda-oom", 2)
    assert found.excerpt.startswith("RuntimeError: CUDA out of memory")
    monkeypatch.setattr(ex, "_grep_binary", lambda: None)
    assert explain_file(log) == [found]


_PROBE = """\
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024, done.stdout.strip())
"""


def _peak_mib(code: str, *, stdin: Path | None = None) -> tuple[int, str]:
    """(peak RSS in MiB, stdout) of `python -c code` in a fresh process, measured by a small parent (a child of
    this big pytest process would start with its peak)."""
    argv = [sys.executable, "-c", _PROBE, sys.executable, "-c", code]
    with (stdin or Path("/dev/null")).open("rb") as fh:
        done = subprocess.run(
            argv,
            stdin=fh,
            capture_output=True,
            text=True,
            env={"PYTHONPATH": str(ROOT), "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            check=True,
        )
    code_rc, peak, out = done.stdout.split(" ", 2)
    assert code_rc == "0", done.stdout
    return int(peak), out.strip()


def test_memory_stays_flat_on_a_log_bigger_than_the_limit(tmp_path: Path) -> None:
    """Not timed (bench/explain_speed.py times it): a 110 MB log, a 5 MB progress line in it, peak < 100 MB."""
    log = tmp_path / "train.log"
    filler, _ = _filler(1 << 20)
    bar = b"".join(b"%3d%%|####      | %d/100000\r" % (p % 100, p) for p in range(200000))
    with log.open("wb") as fh:
        for _ in range(55):
            fh.write(filler)
        fh.write(b"ModuleNotFoundError: No module named 'apex'\n" + bar + b"\n")
        for _ in range(55):
            fh.write(filler)
        fh.write(b"RuntimeError: CUDA out of memory. Tried to allocate 20.00 MiB\n")
    assert log.stat().st_size > 110 << 20
    code = (
        "from legacyrun.diagnose import explain_file; "
        f"print(' '.join(m.signature_id for m in explain_file({str(log)!r})))"
    )
    peak, out = _peak_mib(code)
    assert out == "apex-missing cuda-oom"
    assert peak < 100, f"explain_file peaked at {peak} MiB"
    # Standard input takes the Python path: the same bound (on a smaller log; only the time grows with the size).
    small = tmp_path / "stdin.log"
    with small.open("wb") as fh:
        fh.write(filler * 8 + b"ModuleNotFoundError: No module named 'apex'\n" + bar + bar + b"\n" + filler * 8)
    code = (
        "import sys; from legacyrun.diagnose import explain_chunks, iter_blocks; "
        "print(' '.join(m.signature_id for m in explain_chunks(iter_blocks(sys.stdin))))"
    )
    peak, out = _peak_mib(code, stdin=small)
    assert out == "apex-missing"
    assert peak < 100, f"the Python path peaked at {peak} MiB"
