"""`legacyrun fetch` as a real subprocess: JSON output, exit codes, and SIGKILL mid-download then resume."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fetch.fetch_helpers import write_recipe
from support.cli import run_cli
from support.gitrepos import GitFactory
from support.http_server import FileServer

from legacyrun.fetch import cache as fcache

BIG = os.urandom(3 << 20)
BIG_SHA = hashlib.sha256(BIG).hexdigest()


def test_cli_json_code_and_data_then_nothing_to_do(
    tmp_path: Path, http_server: FileServer, git_factory: GitFactory
) -> None:
    repo = git_factory.repo("proj", commits=2)
    url = http_server.put("w/weights.pth", b"weights" * 1000)
    path = write_recipe(
        tmp_path / "r.yaml",
        sources=[{"name": "proj", "url": repo.file_url, "commit": repo.commits[0]}],
        datasets=[{"name": "weights", "kind": "http", "role": "weights", "urls": [url], "dest": "src/proj/ckpt"}],
    )
    ws = tmp_path / "ws"
    res = run_cli("fetch", path, "-w", ws, "--json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["sources"][0]["commit"] == repo.commits[0]
    [ds] = data["datasets"]
    assert ds["files"][0]["sha256"] == hashlib.sha256(b"weights" * 1000).hexdigest()
    assert ds["bytes"] == 7000 and "seconds" in ds
    assert (ws / "src/proj/ckpt/weights.pth").exists()
    count = http_server.count()
    again = run_cli("fetch", path, "-w", ws, "--json")
    assert again.exit_code == 0, again.stderr
    assert http_server.count() == count
    assert json.loads(again.stdout)["datasets"][0]["skipped"] is True
    human = run_cli("fetch", path, "-w", ws, "--data", "weights")
    assert human.exit_code == 0 and "weights" in human.stdout


def test_cli_exit_codes(tmp_path: Path, http_server: FileServer) -> None:
    manual = write_recipe(
        tmp_path / "m.yaml",
        datasets=[{"name": "m", "kind": "manual", "dest": "data/m", "instructions": "Ask the authors by email."}],
    )
    res = run_cli("fetch", manual, "-w", tmp_path / "ws", "--data")
    assert res.exit_code == 11 and "Ask the authors" in res.stderr and "Traceback" not in res.stderr
    broken = write_recipe(
        tmp_path / "b.yaml",
        datasets=[{"name": "b", "kind": "http", "urls": [http_server.url("missing.bin")], "dest": "data/b"}],
    )
    res = run_cli("fetch", broken, "-w", tmp_path / "ws", "--data")
    assert res.exit_code == 4 and "HTTP 404" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("fetch", broken, "-w", tmp_path / "ws", "--mirror", "nonsense")
    assert res.exit_code == 2 and "FROM=TO" in res.stderr


def test_sigkill_mid_download_then_resume(tmp_path: Path, http_server: FileServer) -> None:
    url = http_server.put("big.bin", BIG)
    http_server.fault("big.bin", "slow", rate=400_000)
    path = write_recipe(
        tmp_path / "r.yaml",
        datasets=[{"name": "big", "kind": "http", "urls": [url], "sha256": BIG_SHA, "dest": "data/big"}],
    )
    ws = tmp_path / "ws"
    proc = subprocess.Popen(
        [sys.executable, "-m", "legacyrun", "fetch", str(path), "-w", str(ws), "--data", "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        part = None
        while time.monotonic() < deadline:
            parts = list(fcache.partial_dir().rglob("*.part")) if fcache.partial_dir().exists() else []
            if parts and parts[0].stat().st_size > 300_000:
                part = parts[0]
                break
            time.sleep(0.05)
        assert part is not None, "the download never started"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    kept = part.stat().st_size
    assert 0 < kept < len(BIG)
    assert not (ws / "data/big/big.bin").exists()
    http_server.clear_faults()
    res = run_cli("fetch", path, "-w", ws, "--data", "--json")
    assert res.exit_code == 0, res.stderr
    [ds] = json.loads(res.stdout)["datasets"]
    assert ds["resumed_from"] >= kept and ds["files"][0]["sha256"] == BIG_SHA
    starts = http_server.range_starts("big.bin")
    assert starts[0] is None and starts[-1] is not None and starts[-1] >= kept
    assert (ws / "data/big/big.bin").read_bytes() == BIG
