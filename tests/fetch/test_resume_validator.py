"""Resume only with a validator (issue 15, item 3): a download interrupted, then changed on the server, is never
spliced (old start, new end). A real loopback server with Range, ETag and If-Range support."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest
from support.http_server import FileServer

from legacyrun.errors import FetchError
from legacyrun.fetch.http import HttpOptions, download

OLD = os.urandom(300_000)
NEW = os.urandom(300_000)  # same size: only the bytes tell the two files apart
ONCE = HttpOptions(retries=0, backoff=0.01, timeout=5.0, chunk_size=16 << 10)


def _interrupt(http_server: FileServer, part: Path, path: str) -> str:
    url = http_server.put(path, OLD)
    http_server.fault(path, "drop", after=100_000, times=1)
    with pytest.raises(FetchError):
        download([url], part, options=ONCE)
    assert 0 < part.stat().st_size < len(OLD)
    time.sleep(0.01)  # a new mtime, so a new ETag
    http_server.put(path, NEW)
    return url


def test_changed_file_after_interruption_is_downloaded_whole(tmp_path: Path, http_server: FileServer) -> None:
    part = tmp_path / "p" / "blob.bin.part"
    url = _interrupt(http_server, part, "v/blob.bin")
    done = download([url], part, options=ONCE)
    assert part.read_bytes() == NEW
    assert done.sha256 == hashlib.sha256(NEW).hexdigest()
    # It asked to resume (with If-Range); the server, seeing another file, sent all of it.
    assert http_server.range_starts("v/blob.bin")[-1] is None


def test_unchanged_file_resumes_with_if_range(tmp_path: Path, http_server: FileServer) -> None:
    part = tmp_path / "p" / "same.bin.part"
    url = http_server.put("v/same.bin", OLD)
    http_server.fault("v/same.bin", "drop", after=100_000, times=1)
    with pytest.raises(FetchError):
        download([url], part, options=ONCE)
    kept = part.stat().st_size
    done = download([url], part, options=ONCE)
    assert part.read_bytes() == OLD and done.resumed_from == kept
    assert http_server.range_starts("v/same.bin")[-1] == kept


def test_no_validator_and_no_checksum_restarts_from_zero(tmp_path: Path, http_server: FileServer) -> None:
    part = tmp_path / "p" / "nov.bin.part"
    url = _interrupt(http_server, part, "v/nov.bin")
    part.with_name(part.name + ".validator").unlink()  # as from a server that sends neither ETag nor Last-Modified
    download([url], part, options=ONCE)
    assert part.read_bytes() == NEW
    assert http_server.range_starts("v/nov.bin")[-1] is None


def test_first_download_without_checksum_says_unverified(tmp_path: Path, http_server: FileServer) -> None:
    from fetch.fetch_helpers import recipe

    from legacyrun.fetch import fetch_data
    from legacyrun.fetch.progress import RecordingProgress
    from legacyrun.workspace import Workspace

    url = http_server.put("u/blob.bin", OLD)
    ds = {"name": "blob", "kind": "http", "urls": [url], "dest": "data/blob", "filename": "blob.bin"}
    progress = RecordingProgress()
    fetch_data(recipe(tmp_path, datasets=[ds]), Workspace.at(tmp_path / "ws"), http=ONCE, progress=progress)
    sha = hashlib.sha256(OLD).hexdigest()
    assert any("UNVERIFIED" in n and sha in n for n in progress.notes), progress.notes
