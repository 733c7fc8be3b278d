"""`legacyrun up` end to end on a legacy-style project the test creates: real git repository, real HTTP dataset,
catalog patches, GPU-count adaptation, a real venv with torch 2.13 (CPU), two training iterations, provenance.
A second `up` does nothing (no request reaches the servers); two `up`s on one workspace do not collide."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import run_cli
from support.legacy_project import make_legacy_project

pytestmark = pytest.mark.slow


TORCH_INDEX = "https://download.pytorch.org/whl/cpu"


def up_args(recipe: Path, ws: Path, *extra: str) -> list[str]:
    """`up` of the toy project with the venv backend, one process, on the CPU (a recipe from outside: --trust)."""
    return ["up", str(recipe), "--workspace", str(ws), "--backend", "venv", "--gpus", "1", "--cpu", "--trust", *extra]


def _up(project_recipe: Path, ws: Path, *extra: str) -> tuple[int, str, str]:
    res = run_cli(*up_args(project_recipe, ws, *extra), timeout=1500)
    return res.exit_code, res.stdout, res.stderr


def test_up_venv_end_to_end(
    git_factory: object, git_http: object, http_server: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_legacy_project(git_factory, http_server, tmp_path, git_url=git_http.url("toyproj"))  # type: ignore[attr-defined]
    ws = tmp_path / "ws"
    # The PyTorch wheel index is unreachable here: point it at an empty local index (pip then takes torch from
    # the machine's wheel folder) instead of waiting for pip's retries, as an offline lab would with a mirror.
    monkeypatch.setenv("LEGACYRUN_MIRRORS", f"{TORCH_INDEX}={http_server.url('empty-index')}")  # type: ignore[attr-defined]

    code, out, err = _up(project.recipe_path, ws)
    assert code == 0, out[-3000:] + err[-3000:]
    assert "TRAINED 32 rows" in out
    assert "iter 1 loss" in out
    # up shows what it adapted for the selected GPUs, each value with its reason (as provenance has it).
    assert "adapted for the selected GPUs" in err and "one process per GPU" in err, err[-3000:]

    # Patches are commits on legacyrun/patched: forward ports and the 1-GPU launch.
    src = ws / "src" / "toy"
    train_py = (src / "train.py").read_text()
    assert ".data[0]" not in train_py and "loss.item()" in train_py
    assert "volatile" not in train_py
    train_sh = (src / "train.sh").read_text()
    assert "--nproc_per_node=1" in train_sh and "torchrun" in train_sh
    branch = subprocess.run(
        ["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=src, capture_output=True, text=True, check=True
    )
    assert branch.stdout.strip() == "legacyrun/patched"

    # Provenance of the run.
    runs = sorted((ws / "runs").iterdir())
    assert len(runs) == 1
    prov = json.loads((runs[0] / "provenance.json").read_text())
    assert prov["exit_code"] == 0
    assert prov["sources"]["toy"] == project.commit
    assert prov["environment"]["backend"] == "venv"
    assert prov["recipe"]["name"] == "toyproj"
    assert prov["datasets"]["toy"], prov["datasets"]
    assert prov["patches"], prov["patches"]
    assert prov["env_overrides"]["CUDA_VISIBLE_DEVICES"] == ""
    assert "TRAINED" in (runs[0] / "log.txt").read_text()

    # A second up: every step skipped, no request to the git or HTTP server, the task runs again.
    git_before = len(git_http.requests)  # type: ignore[attr-defined]
    http_before = len(http_server.requests)  # type: ignore[attr-defined]
    code, out, err = _up(project.recipe_path, ws, "--json")
    assert code == 0, err[-3000:]
    report = json.loads(out[out.index("{") :])
    statuses = {s["step"]: s["status"] for s in report["steps"]}
    assert statuses == {
        "lock": "skipped",
        "fetch-code": "skipped",
        "fetch-data": "skipped",
        "patch": "skipped",
        "build": "skipped",
        "run": "done",
    }, statuses
    assert report["adaptation"] == []  # the patch step was skipped: nothing adapted this time
    assert len(git_http.requests) == git_before  # type: ignore[attr-defined]
    assert len(http_server.requests) == http_before  # type: ignore[attr-defined]
    # The no-op chain starts no process at all: tool versions, the adapt plan and the recipe are remembered, the
    # heads are read from .git (legacyrun.proc logs every command it starts at -vv).
    res = run_cli("-vv", *up_args(project.recipe_path, ws, "--dry-run", "--json"), timeout=600)
    assert res.exit_code == 0, res.stderr[-3000:]
    assert [ln for ln in res.stderr.splitlines() if ln.startswith("legacyrun.proc: ")] == []
    assert {s["status"] for s in json.loads(res.stdout)["steps"]} == {"skipped", "planned"}

    # status summarises the workspace.
    res = run_cli("status", str(project.recipe_path), "--workspace", str(ws), "--json")
    assert res.exit_code == 0, res.stderr
    status = json.loads(res.stdout)
    assert status["sources"][0]["fetched"] and status["environment"]["backend"] == "venv"
    assert len(status["runs"]) == 2

    # Two up processes on one workspace: one waits (--wait), the other refuses clearly while the first holds it.
    first = subprocess.Popen(
        [sys.executable, "-m", "legacyrun", *up_args(project.recipe_path, ws, "--wait", "120")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lock = ws / ".legacyrun" / "lock"
        for _ in range(200):
            res = run_cli(*up_args(project.recipe_path, ws, "--dry-run"))
            if res.exit_code == 9:
                break
        assert res.exit_code == 9, (res.stdout, res.stderr)
        assert "in use by another legacyrun process" in res.stderr
        assert lock.exists()
    finally:
        _out1, err1 = first.communicate(timeout=600)
    assert first.returncode == 0, err1[-3000:]
    assert len(list((ws / "runs").iterdir())) == 3

    # Export, then `up` of the bundle in a clean workspace with a clean cache reproduces legacyrun.lock exactly.
    bundle = tmp_path / "toyproj.tar.gz"
    res = run_cli("recipe", "export", str(project.recipe_path), "-o", str(bundle), "--workspace", str(ws))
    assert res.exit_code == 0, res.stderr
    clean = tmp_path / "clean"
    env = {"LEGACYRUN_CACHE_DIR": str(clean / "cache"), "LEGACYRUN_CONFIG_DIR": str(clean / "config")}
    ws2 = tmp_path / "ws2"
    res = run_cli(*up_args(bundle, ws2), env=env, timeout=1500)
    assert res.exit_code == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert (ws2 / "legacyrun.lock").read_bytes() == (ws / "legacyrun.lock").read_bytes()
