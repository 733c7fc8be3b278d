"""A download without a published sha256 (issue 15, item 3): its sha256, size and the server's validator are
recorded on first use, it is reported UNVERIFIED, and a later fetch that gets other bytes is refused with what
changed instead of being taken as the new truth. Real loopback server (ETag per size and mtime)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest
from fetch.fetch_helpers import make_lock, recipe
from support.http_server import FileServer

from legacyrun import lock as lockmod
from legacyrun.errors import FetchError
from legacyrun.fetch import HttpOptions, fetch_data
from legacyrun.fetch import cache as fcache
from legacyrun.fetch.progress import RecordingProgress
from legacyrun.workspace import Workspace

FAST = HttpOptions(retries=1, backoff=0.01, timeout=5, chunk_size=64 << 10)
OLD = os.urandom(200_000)
SHA = hashlib.sha256(OLD).hexdigest()


def _ds(url: str, **kw: object) -> dict[str, object]:
    return {"name": "blob", "kind": "http", "urls": [url], "dest": "data/blob", "filename": "blob.bin", **kw}


def _forget(ws: Workspace, sha: str) -> None:
    """As on a lab mate's machine: neither the download cache nor the placed data hold the file."""
    fcache.cached_path(sha).chmod(0o644)
    fcache.cached_path(sha).unlink()
    (ws.root / "data/blob/blob.bin").unlink()


def test_first_download_records_origin_in_the_lock(tmp_path: Path, http_server: FileServer) -> None:
    url = http_server.put("f/blob.bin", OLD)
    loaded = recipe(tmp_path, datasets=[_ds(url)])
    ws = Workspace.at(tmp_path / "ws")
    make_lock(ws.root, loaded)
    progress = RecordingProgress()
    fetch_data(loaded, ws, http=FAST, progress=progress)
    entry = lockmod.read(ws.lockfile).datasets["blob"]
    assert entry.files == {"blob.bin": SHA}
    origin = entry.unverified["blob.bin"]
    assert origin.url == url and origin.bytes == len(OLD)
    assert origin.validator is not None and origin.validator.startswith('"')  # the server's strong ETag
    assert "unverified:" in ws.lockfile.read_text()
    [note] = [n for n in progress.notes if "UNVERIFIED" in n]
    assert SHA in note and origin.validator in note and url in note


def test_published_sha256_records_no_origin(tmp_path: Path, http_server: FileServer) -> None:
    url = http_server.put("f/pub.bin", OLD)
    loaded = recipe(tmp_path, datasets=[_ds(url, sha256=SHA)])
    ws = Workspace.at(tmp_path / "ws")
    make_lock(ws.root, loaded)
    progress = RecordingProgress()
    fetch_data(loaded, ws, http=FAST, progress=progress)
    assert lockmod.read(ws.lockfile).datasets["blob"].unverified == {}
    assert "unverified" not in ws.lockfile.read_text()
    assert not [n for n in progress.notes if "UNVERIFIED" in n]


@pytest.mark.parametrize("with_lock", [True, False], ids=["lock", "step-record"])
def test_changed_file_is_refused_with_what_changed(tmp_path: Path, http_server: FileServer, with_lock: bool) -> None:
    url = http_server.put("f/blob.bin", OLD)
    loaded = recipe(tmp_path, datasets=[_ds(url)])
    ws = Workspace.at(tmp_path / "ws")
    if with_lock:
        make_lock(ws.root, loaded)
    fetch_data(loaded, ws, http=FAST)
    lock_text = ws.lockfile.read_text() if with_lock else None
    _forget(ws, SHA)
    new = OLD + b"more"
    http_server.put("f/blob.bin", new)
    with pytest.raises(FetchError) as info:
        fetch_data(loaded, ws, http=FAST)
    msg = info.value.message
    assert "\n" not in msg and url in msg and "changed on the server" in msg
    assert f"sha256 {SHA} -> {hashlib.sha256(new).hexdigest()}" in msg
    assert f"size {len(OLD)} -> {len(new)} bytes" in msg and "validator" in msg
    assert info.value.hint is not None and "sha256:" in info.value.hint
    # Not taken as the new truth: nothing placed, the lock unchanged, the new bytes not in the cache.
    assert not (ws.root / "data/blob/blob.bin").exists()
    assert fcache.lookup(hashlib.sha256(new).hexdigest()) is None
    if lock_text is not None:
        assert ws.lockfile.read_text() == lock_text
    # Put back, the file is accepted again.
    http_server.put("f/blob.bin", OLD)
    fetch_data(loaded, ws, http=FAST)
    assert (ws.root / "data/blob/blob.bin").read_bytes() == OLD


def test_same_bytes_under_a_new_validator_are_accepted(tmp_path: Path, http_server: FileServer) -> None:
    url = http_server.put("f/blob.bin", OLD)
    loaded = recipe(tmp_path, datasets=[_ds(url)])
    ws = Workspace.at(tmp_path / "ws")
    make_lock(ws.root, loaded)
    fetch_data(loaded, ws, http=FAST)
    first = lockmod.read(ws.lockfile).datasets["blob"].unverified["blob.bin"]
    _forget(ws, SHA)
    time.sleep(0.01)
    http_server.put("f/blob.bin", OLD)  # re-uploaded: a new mtime, so a new ETag, but the same bytes
    [res] = fetch_data(loaded, ws, http=FAST)
    assert res.network and (ws.root / "data/blob/blob.bin").read_bytes() == OLD
    # The sha256 decides; the origin recorded on first use stays what the lock says.
    assert lockmod.read(ws.lockfile).datasets["blob"].unverified["blob.bin"] == first


def test_found_in_the_cache_by_url_records_the_same_origin(tmp_path: Path, http_server: FileServer) -> None:
    url = http_server.put("f/blob.bin", OLD)
    loaded = recipe(tmp_path, datasets=[_ds(url)])
    first, second = Workspace.at(tmp_path / "ws1"), Workspace.at(tmp_path / "ws2")
    make_lock(first.root, loaded)
    make_lock(second.root, loaded)
    fetch_data(loaded, first, http=FAST)
    [res] = fetch_data(loaded, second, http=FAST)  # no sha256 anywhere: found in the cache by its URL
    assert not res.network
    assert second.lockfile.read_text() == first.lockfile.read_text()
