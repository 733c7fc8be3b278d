"""A real torrent on 127.0.0.1: Debian's opentracker with a whitelist, an aria2c seeder, a torrent from mktorrent."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fetch.fetch_helpers import make_lock, recipe
from support.http_server import FileServer, free_port

from legacyrun import lock as lockmod
from legacyrun.fetch import fetch_data
from legacyrun.workspace import Workspace

pytestmark = [pytest.mark.torrent, pytest.mark.slow]

_TOOLS = ("aria2c", "opentracker", "mktorrent")


@dataclass
class Swarm:
    torrent: Path
    files: dict[str, bytes]


def _wait_port(port: int, timeout: float = 10) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


@pytest.fixture
def swarm(tmp_path: Path) -> Iterator[Swarm]:
    missing = [t for t in _TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (apt-get install aria2 opentracker mktorrent)")
    seed = tmp_path / "seed"
    files = {"dset/train.bin": os.urandom(700_000), "dset/labels.txt": b"cat\ndog\n", "dset/extra.bin": os.urandom(9)}
    for rel, data in files.items():
        (seed / rel).parent.mkdir(parents=True, exist_ok=True)
        (seed / rel).write_bytes(data)
    tport, sport = free_port(), free_port()
    torrent = tmp_path / "dset.torrent"
    subprocess.run(
        ["mktorrent", "-l", "16", "-a", f"http://127.0.0.1:{tport}/announce", "-o", str(torrent), str(seed / "dset")],
        check=True,
        capture_output=True,
    )
    shown = subprocess.run(["aria2c", "-S", str(torrent)], check=True, capture_output=True, text=True).stdout
    info_hash = re.search(r"Info Hash: ([0-9a-f]{40})", shown)
    assert info_hash is not None
    # opentracker chroots into -d and then drops to user nobody: the whitelist must be readable from there.
    jail = tmp_path / "tracker"
    jail.mkdir(mode=0o755)
    jail.chmod(0o755)
    whitelist = jail / "whitelist"
    whitelist.write_text(info_hash.group(1) + "\n")
    whitelist.chmod(0o644)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(
            subprocess.Popen(
                [
                    "opentracker",
                    "-i",
                    "127.0.0.1",
                    "-p",
                    str(tport),
                    "-P",
                    str(tport),
                    "-d",
                    str(jail),
                    "-w",
                    whitelist.name,
                ],
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        _wait_port(tport)
        procs.append(
            subprocess.Popen(
                [
                    "aria2c",
                    "--check-integrity=true",
                    "--seed-ratio=0.0",
                    f"--dir={seed}",
                    f"--listen-port={sport}",
                    "--enable-dht=false",
                    "--bt-enable-lpd=false",
                    "--enable-peer-exchange=false",
                    "--console-log-level=warn",
                    str(torrent),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        _wait_port(sport)
        yield Swarm(torrent, files)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def test_torrent_fetch_with_file_selection(tmp_path: Path, swarm: Swarm, http_server: FileServer) -> None:
    url = http_server.put("dset.torrent", swarm.torrent.read_bytes())
    train = swarm.files["dset/train.bin"]
    ds = {
        "name": "dset",
        "kind": "torrent",
        "urls": [url],
        "files": ["train.bin", "labels.txt"],
        "dest": "data/dset",
    }
    loaded = recipe(tmp_path, datasets=[ds])
    ws = Workspace.at(tmp_path / "ws")
    make_lock(ws.root, loaded)
    [res] = fetch_data(loaded, ws)
    got = {f.name: f.sha256 for f in res.files}
    assert got == {
        "dset/train.bin": hashlib.sha256(train).hexdigest(),
        "dset/labels.txt": hashlib.sha256(b"cat\ndog\n").hexdigest(),
    }
    assert (ws.root / "data/dset/dset/train.bin").read_bytes() == train
    assert not (ws.root / "data/dset/dset/extra.bin").exists()
    assert lockmod.read(ws.lockfile).datasets["dset"].files == got
    # Everything recorded and cached: a second workspace needs neither the tracker nor the .torrent.
    before = http_server.count()
    ws2 = Workspace.at(tmp_path / "ws2")
    shutil.copy(ws.lockfile, tmp_path / "lock-copy")
    ws2.root.mkdir()
    shutil.copy(tmp_path / "lock-copy", ws2.lockfile)
    [res2] = fetch_data(loaded, ws2)
    assert not res2.network and http_server.count() == before
    assert (ws2.root / "data/dset/dset/labels.txt").read_bytes() == b"cat\ndog\n"
