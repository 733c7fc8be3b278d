"""Fetch survives any kill (issue 15, Must show): seeded SIGKILLs of the whole process group during
`legacyrun fetch` of a dataset from a throttled loopback server; each rerun ends byte-identical to an uninterrupted
run (placed data, the lock's text, the cache), and a change on the server between the kill and the rerun is never
spliced in nor taken as the truth in place of a recorded sha256: the rerun ends exactly as an uninterrupted fetch of
the old or of the new file, or (once the old sha256 is recorded) is refused."""

from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
from fetch.fetch_helpers import make_lock, recipe
from support.http_server import FileServer

from legacyrun import lock as lockmod
from legacyrun.errors import FetchError
from legacyrun.fetch import HttpOptions
from legacyrun.usecases.fetch import fetch
from legacyrun.workspace import Workspace

REPO_ROOT = Path(__file__).resolve().parents[2]
PATH = "d/blob.tar.gz"
T_OLD, T_NEW = 1_600_000_000 * 10**9, 1_700_000_000 * 10**9  # fixed mtimes: each version has one fixed ETag
KILLS = 20


def _archive(seed: int) -> bytes:
    rng = random.Random(seed)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        for name, size in (("blob/a.bin", 1_200_000), ("blob/sub/b.txt", 300)):
            info = tarfile.TarInfo(name)
            info.size, info.mtime = size, 1_500_000_000
            tar.addfile(info, io.BytesIO(rng.randbytes(size)))
    return buf.getvalue()


OLD = _archive(1)
NEW = _archive(2)


def _serve(srv: FileServer, data: bytes, mtime_ns: int) -> None:
    srv.put(PATH, data)
    os.utime(srv.root / PATH, ns=(mtime_ns, mtime_ns))


def _snapshot(ws: Path) -> dict[str, bytes]:
    """Everything a fetch leaves in the workspace that must not differ: the placed data and the lock."""
    snap = {p.relative_to(ws).as_posix(): p.read_bytes() for p in sorted((ws / "data").rglob("*")) if p.is_file()}
    snap["legacyrun.lock"] = (ws / "legacyrun.lock").read_bytes()
    return snap


def test_seeded_sigkills_during_fetch_end_identical(
    tmp_path: Path, http_server: FileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = http_server.url(PATH)
    loaded = recipe(
        tmp_path, datasets=[{"name": "blob", "kind": "http", "urls": [url], "dest": "data", "filename": "blob.tar.gz"}]
    )
    # Throttled (3 MiB/s) so that a kill lands in the download as often as in start-up or extraction.
    http_server.fault(PATH, "slow", rate=3 << 20)

    def env(name: str) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(REPO_ROOT), "LEGACYRUN_CACHE_DIR": str(tmp_path / name / "cache")}

    def fresh(name: str) -> Path:
        ws = tmp_path / name / "ws"
        make_lock(ws, loaded)
        return ws

    def run(ws: Path, name: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "legacyrun", "-q", "fetch", str(loaded.path), "-w", str(ws), "--data"]
        return subprocess.run(argv, env=env(name), capture_output=True, text=True, timeout=60, check=False)

    # The uninterrupted runs, of the new file and of the old one: the references.
    _serve(http_server, NEW, T_NEW)
    assert run(fresh("ref-new"), "ref-new").returncode == 0
    ref_new = _snapshot(tmp_path / "ref-new/ws")
    _serve(http_server, OLD, T_OLD)
    start = time.monotonic()
    done = run(fresh("ref-old"), "ref-old")
    full = time.monotonic() - start
    assert done.returncode == 0, done.stderr
    ref_old = _snapshot(tmp_path / "ref-old/ws")
    assert ref_old != ref_new

    rng = random.Random(15)
    outcomes: dict[str, int] = {}
    for kill in range(KILLS):
        name = f"k{kill}"
        ws = fresh(name)
        argv = [sys.executable, "-m", "legacyrun", "-q", "fetch", str(loaded.path), "-w", str(ws), "--data"]
        child = subprocess.Popen(
            argv, env=env(name), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        time.sleep(rng.uniform(0.0, full))
        os.killpg(child.pid, signal.SIGKILL)  # the whole group, as a closed terminal or an OOM kill of a job
        child.wait()
        changed = kill % 3 == 2
        recorded = "blob" in lockmod.read(ws / "legacyrun.lock").datasets
        if changed:
            _serve(http_server, NEW, T_NEW)  # same size, new bytes: only the validator (and the sha256) tell
        # The rerun in this process, through the core the command calls (a Python start-up less per kill).
        monkeypatch.setenv("LEGACYRUN_CACHE_DIR", env(name)["LEGACYRUN_CACHE_DIR"])
        try:
            fetch(loaded, Workspace.at(ws), code=False, http=HttpOptions(retries=1, backoff=0.01, timeout=10))
        except FetchError as exc:
            # Only a change after the old sha256 was recorded may be refused, and then with what changed.
            assert changed and recorded and exc.exit_code == 4, (kill, exc.message)
            assert "changed on the server" in exc.message and url in exc.message, exc.message
            outcomes["refused"] = outcomes.get("refused", 0) + 1
            continue
        finally:
            if changed:
                _serve(http_server, OLD, T_OLD)
        got = _snapshot(ws)
        if got == ref_new:
            # The new file whole, and only where nothing of the old one had been recorded.
            assert changed and not recorded, kill
            outcomes["new"] = outcomes.get("new", 0) + 1
        else:
            assert got == ref_old, (kill, sorted(k for k in got if got[k] != ref_old.get(k)))
            outcomes["old"] = outcomes.get("old", 0) + 1
        partial = tmp_path / name / "cache" / "downloads" / "partial"
        assert not partial.exists() or not [p for p in partial.rglob("*") if p.is_file()], kill
    assert sum(outcomes.values()) == KILLS and outcomes.get("old", 0) > 0, outcomes
