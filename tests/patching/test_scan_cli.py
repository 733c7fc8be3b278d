"""`legacyrun scan`: human and JSON output, targets, rule filters, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.cli import run_cli, run_inproc


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    (tmp_path / "train.py").write_text(
        "import numpy as np\nloss_val = loss.data[0]\nkeep = np.zeros(3, dtype=np.bool)\nm = torch.zeros(2).bool()\n",
        encoding="utf-8",
    )
    (tmp_path / "csrc").mkdir()
    (tmp_path / "csrc" / "ext.cu").write_text('#include <THC/THC.h>\nAT_CHECK(x, "msg");\n', encoding="utf-8")
    return tmp_path


def test_human_output(legacy: Path) -> None:
    res = run_inproc("scan", legacy)
    assert res.exit_code == 0, res.stderr
    assert "train.py:2:16: py-data0-item [auto]" in res.stdout
    assert "csrc/ext.cu:1:1: cpp-thc-headers [auto]" in res.stdout
    assert "breaks: " in res.stdout and "fix: " in res.stdout
    assert "py-torch-bool-reverse" not in res.stdout, "reverse rules need an old --target"
    assert "auto-fixable" in res.stderr


def test_json_and_target(legacy: Path) -> None:
    res = run_inproc("scan", legacy, "--target", "torch=1.1,python=3.6", "--json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    ids = {f["rule_id"] for f in data["findings"]}
    assert "py-torch-bool-reverse" in ids
    assert "cpp-thc-headers" not in ids, "THC still exists in torch 1.1"
    assert data["target"] == {"torch": "1.1", "python": "3.6", "cuda": None}
    first = data["findings"][0]
    assert set(first) >= {"path", "line", "column", "rule_id", "what_breaks", "broke_in", "fix", "auto_fixable"}
    assert data["summary"]["findings"] == len(data["findings"])


def test_rule_filter(legacy: Path) -> None:
    data = json.loads(run_inproc("scan", legacy, "--rule", "set:thc", "--rule", "cpp-at-check", "--json").stdout)
    assert {f["rule_id"] for f in data["findings"]} == {"cpp-thc-headers", "cpp-at-check"}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--target", "torch=banana"], "--target"),
        (["--rule", "py-nope"], "py-nope"),
    ],
)
def test_bad_input_is_a_one_line_usage_error(legacy: Path, args: list[str], needle: str) -> None:
    res = run_cli("scan", legacy, *args)
    assert res.exit_code == 2
    assert needle in res.stderr.splitlines()[0]
    assert "Traceback" not in res.stderr


def test_missing_path(tmp_path: Path) -> None:
    res = run_inproc("scan", tmp_path / "nope")
    assert res.exit_code == 2
    assert "nope" in res.stderr
