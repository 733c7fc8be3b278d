"""`legacyrun explain LOG|-` as a real subprocess: file and stdin, --json, --all, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import run_cli

FAILED_BUILD = """\
running build_ext
building 'maskrcnn_benchmark._C' extension
/src/maskrcnn_benchmark/csrc/cuda/ROIAlign_cuda.cu:5:10: fatal error: THC/THC.h: No such file or directory
    5 | #include <THC/THC.h>
compilation terminated.
error: command '/usr/local/cuda/bin/nvcc' failed with exit status 1
"""

FAILED_RUN = """\
(epoch: 1, iters: 100, time: 0.041, data: 0.158) G_GAN: 1.817 G_L1: 29.187 D_real: 0.357 D_fake: 0.445
Traceback (most recent call last):
  File "train.py", line 47, in <module>
    errors = model.get_current_errors()
  File "/src/models/pix2pix_model.py", line 122, in get_current_errors
    return OrderedDict([('G_GAN', self.loss_G_GAN.data[0]),
IndexError: invalid index of a 0-dim tensor. Use tensor.item() to convert a 0-dim tensor to a Python number
"""


def _stdin_cli(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.setdefault("COLUMNS", "200")
    return subprocess.run(
        [sys.executable, "-m", "legacyrun", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_explain_file_prints_signature_line_cause_fix(tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    log.write_text(FAILED_BUILD, encoding="utf-8")
    res = run_cli("explain", log)
    assert res.exit_code == 0, res.stderr
    out = res.stdout
    assert out.startswith("thc-headers-missing: THC headers removed from torch")
    assert "line 3: /src/maskrcnn_benchmark/csrc/cuda/ROIAlign_cuda.cu:5:10: fatal error: THC/THC.h" in out
    assert "cause: Torch 1.11 removed the THC headers" in out
    assert "fix:   Add catalog rule cpp-thc-headers" in out
    assert "catalog rules: cpp-thc-headers" in out
    # The catch-all nvcc signature stays hidden behind the specific one...
    assert "compile-failed-nvcc" not in out
    # ...unless --all is given.
    res_all = run_cli("explain", log, "--all")
    assert res_all.exit_code == 0
    assert "compile-failed-nvcc" in res_all.stdout
    assert "Traceback" not in res.stderr + res_all.stderr


def test_explain_stdin() -> None:
    res = _stdin_cli("explain", "-", stdin=FAILED_RUN)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("data0-zero-dim-index: loss.data[0] on a 0-dim tensor")
    assert "line 7: IndexError: invalid index of a 0-dim tensor" in res.stdout
    assert "py-data0-item" in res.stdout


def test_explain_json_file_and_stdin(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text(FAILED_RUN, encoding="utf-8")
    res = run_cli("explain", log, "--json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert [d["signature"] for d in data] == ["data0-zero-dim-index"]
    assert data[0]["line"] == 7
    assert data[0]["fix"].startswith("Add catalog rule py-data0-item")
    piped = _stdin_cli("--json", "explain", "-", stdin=FAILED_RUN)
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout) == data


def test_explain_nothing_matched_exits_1(tmp_path: Path) -> None:
    log = tmp_path / "ok.log"
    log.write_text("epoch 1 done\nepoch 2 done\n", encoding="utf-8")
    res = run_cli("explain", log)
    assert res.exit_code == 1
    assert res.stdout == ""
    assert "no known failure signature matched" in res.stderr
    res_json = run_cli("explain", log, "--json")
    assert res_json.exit_code == 1
    assert json.loads(res_json.stdout) == []
    empty = _stdin_cli("explain", "-", stdin="")
    assert empty.returncode == 1


def test_explain_missing_log_is_a_usage_error(tmp_path: Path) -> None:
    res = run_cli("explain", tmp_path / "nope.log")
    assert res.exit_code == 2
    assert "nope.log: no such log file" in res.stderr
    assert "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_explain_limits_to_five_without_all(tmp_path: Path) -> None:
    lines = [
        "AttributeError: module 'torch' has no attribute 'bool'",
        "IndexError: invalid index of a 0-dim tensor. Use tensor.item()",
        "AttributeError: module 'numpy' has no attribute 'float'.",
        "ImportError: cannot import name 'PILLOW_VERSION' from 'PIL'",
        "AttributeError: module 'time' has no attribute 'clock'",
        "TypeError: load() missing 1 required positional argument: 'Loader'",
        "OSError: [Errno 24] Too many open files",
    ]
    log = tmp_path / "many.log"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert len(json.loads(run_cli("explain", log, "--json").stdout)) == 5
    assert len(json.loads(run_cli("explain", log, "--json", "--all").stdout)) == 7


def test_show_matches_for_run_and_build(capsys: pytest.CaptureFixture[str]) -> None:
    from legacyrun.cli import render
    from legacyrun.cli.render import show_matches
    from legacyrun.diagnose import explain_text

    render._out = None
    try:
        show_matches(explain_text(FAILED_RUN), log="runs/20261127-1/log.txt")
    finally:
        render._out = None
    out = capsys.readouterr().out
    assert out.startswith("known failure in runs/20261127-1/log.txt:")
    assert "data0-zero-dim-index: loss.data[0] on a 0-dim tensor" in out
    assert "fix:   Add catalog rule py-data0-item" in out
