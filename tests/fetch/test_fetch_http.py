"""HTTP datasets against the real Range server on 127.0.0.1, with its fault modes."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest
from fetch.fetch_helpers import make_lock, recipe
from support.http_server import FileServer

from legacyrun import lock as lockmod
from legacyrun.errors import FetchError, ManualStepRequired, ToolMissingError, UsageError
from legacyrun.fetch import HttpOptions, Mirrors, fetch_data
from legacyrun.fetch import cache as fcache
from legacyrun.fetch.progress import RecordingProgress
from legacyrun.workspace import Workspace

FAST = HttpOptions(retries=3, backoff=0.01, timeout=5, chunk_size=64 << 10)
BLOB = os.urandom(600_000)
SHA = hashlib.sha256(BLOB).hexdigest()


def _ds(url: str | list[str], **kw: object) -> dict[str, object]:
    urls = url if isinstance(url, list) else [url]
    return {"name": "blob", "kind": "http", "urls": urls, "dest": "data/blob", "filename": "blob.bin", **kw}


def _leftovers() -> list[Path]:
    part = fcache.partial_dir()
    return [p for p in part.rglob("*") if p.is_file()] if part.exists() else []


def test_download_verify_place_record_then_no_network(tmp_path: Path, http_server: FileServer) -> None:
    url = http_server.put("blob.bin", BLOB)
    loaded = recipe(tmp_path, datasets=[_ds(url)])
    ws = Workspace.at(tmp_path / "ws")
    make_lock(ws.root, loaded)
    progress = RecordingProgress()
    [res] = fetch_data(loaded, ws, progress=progress, http=FAST)
    assert res.network and res.files[0].sha256 == SHA and res.bytes == len(BLOB)
    assert (ws.root / "data/blob/blob.bin").read_bytes() == BLOB
    assert progress.last["data:blob"] == len(BLOB)
    lock = lockmod.read(ws.lockfile)
    assert lock.datasets["blob"].files == {"blob.bin": SHA} and lock.patches == {"p1": "abc"}
    assert fcache.lookup(SHA) is not None and not _leftovers()
    before = http_server.count()
    [again] = fetch_data(loaded, ws, http=FAST)
    assert again.skipped and http_server.count() == before
    # Another workspace of the same recipe: served from the content-addressed cache.
    ws2 = Workspace.at(tmp_path / "ws2")
    [other] = fetch_data(loaded, ws2, http=FAST)
    assert not other.network and (ws2.root / "data/blob/blob.bin").read_bytes() == BLOB
    assert http_server.count() == before


def test_lock_sha_is_enforced_later(tmp_path: Path, http_server: FileServer) -> None:
    url = http_server.put("blob.bin", BLOB)
    loaded = recipe(tmp_path, datasets=[_ds(url)])
    ws = Workspace.at(tmp_path / "ws")
    make_lock(ws.root, loaded)
    fetch_data(loaded, ws, http=FAST)
    # Upstream silently changes the file; the lock recorded the first content, so this is refused.
    http_server.put("blob.bin", BLOB[::-1])
    fcache.cached_path(SHA).chmod(0o644)
    fcache.cached_path(SHA).unlink()
    ws.forget_step("fetch-data:blob")
    with pytest.raises(FetchError, match=f"{url} changed on the server since blob.bin was first downloaded"):
        fetch_data(loaded, ws, http=FAST)


@pytest.mark.parametrize(
    ("mode", "kw"),
    [
        ("error", {"status": 500, "times": 2}),
        ("error", {"status": 503, "times": 1}),
        ("drop", {"after": 200_000, "times": 2}),
        ("truncate", {"after": 300_000, "times": 1}),
    ],
)
def test_transient_faults_end_in_a_verified_file(
    tmp_path: Path, http_server: FileServer, mode: str, kw: dict[str, int]
) -> None:
    url = http_server.put("blob.bin", BLOB)
    http_server.fault("blob.bin", mode, **kw)
    loaded = recipe(tmp_path, datasets=[_ds(url, sha256=SHA)])
    ws = Workspace.at(tmp_path / "ws")
    [res] = fetch_data(loaded, ws, http=FAST)
    assert (ws.root / "data/blob/blob.bin").read_bytes() == BLOB and res.files[0].sha256 == SHA
    if mode in ("drop", "truncate"):
        starts = http_server.range_starts("blob.bin")
        assert any(s is not None and s > 0 for s in starts), starts  # resumed, not restarted


def test_read_timeout_is_retried_and_resumed(tmp_path: Path, http_server: FileServer) -> None:
    url = http_server.put("blob.bin", BLOB)
    http_server.fault("blob.bin", "stall", after=100_000, seconds=2.0, times=1)
    loaded = recipe(tmp_path, datasets=[_ds(url, sha256=SHA)])
    progress = RecordingProgress()
    opts = HttpOptions(retries=2, backoff=0.01, timeout=0.5, chunk_size=64 << 10)
    [res] = fetch_data(loaded, Workspace.at(tmp_path / "ws"), http=opts, progress=progress)
    assert res.files[0].sha256 == SHA
    assert any("retrying" in n for n in progress.notes), progress.notes
    assert http_server.range_starts("blob.bin")[-1] == 100_000


def test_wrong_bytes_is_an_error_and_nothing_is_placed(tmp_path: Path, http_server: FileServer) -> None:
    url = http_server.put("blob.bin", BLOB)
    http_server.fault("blob.bin", "wrong", offset=1234)
    loaded = recipe(tmp_path, datasets=[_ds(url, sha256=SHA)])
    ws = Workspace.at(tmp_path / "ws")
    with pytest.raises(FetchError) as info:
        fetch_data(loaded, ws, http=FAST)
    assert "sha256 mismatch" in info.value.message and url in info.value.message
    assert not (ws.root / "data/blob").exists()
    assert not _leftovers() and fcache.lookup(SHA) is None


def test_wrong_bytes_on_first_mirror_falls_back_to_the_next(tmp_path: Path, http_server: FileServer) -> None:
    bad = http_server.put("bad/blob.bin", BLOB)
    good = http_server.put("good/blob.bin", BLOB)
    http_server.fault("bad/blob.bin", "wrong")
    missing = http_server.url("gone/blob.bin")
    loaded = recipe(tmp_path, datasets=[_ds([missing, bad, good], sha256=SHA)])
    ws = Workspace.at(tmp_path / "ws")
    [res] = fetch_data(loaded, ws, http=FAST)
    assert res.url == good and (ws.root / "data/blob/blob.bin").read_bytes() == BLOB
    assert http_server.count("gone/blob.bin") == 1  # a 404 is not retried


def test_server_ignoring_range_restarts_cleanly(tmp_path: Path, http_server: FileServer) -> None:
    url = http_server.put("blob.bin", BLOB)
    http_server.fault("blob.bin", "drop", after=250_000, times=1)
    loaded = recipe(tmp_path, datasets=[_ds(url, sha256=SHA)])
    ws = Workspace.at(tmp_path / "ws")
    # First attempt dies mid-body; from then on the server ignores Range and answers 200 with the whole file.
    with pytest.raises(FetchError):
        fetch_data(loaded, ws, http=HttpOptions(retries=0, backoff=0.01, timeout=5))
    assert _leftovers()
    http_server.fault("blob.bin", "no_range")
    [res] = fetch_data(loaded, ws, http=FAST)
    assert res.files[0].sha256 == SHA and (ws.root / "data/blob/blob.bin").read_bytes() == BLOB


def test_persistent_500_is_a_clear_error(tmp_path: Path, http_server: FileServer) -> None:
    url = http_server.put("blob.bin", BLOB)
    http_server.fault("blob.bin", "error", status=500)
    loaded = recipe(tmp_path, datasets=[_ds(url)])
    ws = Workspace.at(tmp_path / "ws")
    with pytest.raises(FetchError) as info:
        fetch_data(loaded, ws, http=FAST)
    assert "HTTP 500" in info.value.message and "gave up after 4 tries" in info.value.message
    assert http_server.count("blob.bin") == 4
    assert not (ws.root / "data/blob").exists()


def test_size_is_a_hint_unless_exact(tmp_path: Path, http_server: FileServer) -> None:
    url = http_server.put("blob.bin", BLOB)
    hinted = recipe(tmp_path, datasets=[_ds(url, size=len(BLOB) + 1)])
    [res] = fetch_data(hinted, Workspace.at(tmp_path / "ws1"), http=FAST)
    assert res.files[0].sha256 == SHA and (tmp_path / "ws1/data/blob/blob.bin").read_bytes() == BLOB
    hint = f"dataset blob: blob.bin has {len(BLOB)} bytes, the recipe's size hint says {len(BLOB) + 1}"
    assert res.warnings == [hint]
    fcache.cached_path(SHA).chmod(0o644)
    fcache.cached_path(SHA).unlink()
    exact = recipe(tmp_path, datasets=[_ds(url, size=len(BLOB) + 1, size_exact=True)])
    with pytest.raises(FetchError, match="the recipe says"):
        fetch_data(exact, Workspace.at(tmp_path / "ws2"), http=FAST)
    assert not (tmp_path / "ws2/data/blob").exists()
    right = recipe(tmp_path, datasets=[_ds(url, size=len(BLOB), size_exact=True)])
    [ok] = fetch_data(right, Workspace.at(tmp_path / "ws3"), http=FAST)
    assert ok.warnings == [] and ok.bytes == len(BLOB)


def test_mirrors_from_env_and_config_rewrite_http(tmp_path: Path, http_server: FileServer) -> None:
    http_server.put("pub/blob.bin", BLOB)
    upstream = "http://datasets.invalid/files/blob.bin"
    loaded = recipe(tmp_path, datasets=[_ds(upstream, sha256=SHA)])
    env = {
        "LEGACYRUN_MIRRORS": f"http://nowhere.invalid/=http://127.0.0.1:1/ ;http://datasets.invalid/files/={http_server.url('pub')}/"
    }
    mirrors = Mirrors.from_sources([], env, None)
    [res] = fetch_data(loaded, Workspace.at(tmp_path / "ws1"), mirrors=mirrors, http=FAST)
    assert res.url == http_server.url("pub/blob.bin")
    config = tmp_path / "config.yaml"
    config.write_text(f"mirrors:\n  http://datasets.invalid/files/:\n    - {http_server.url('pub')}/\n")
    fcache.cached_path(SHA).chmod(0o644)
    fcache.cached_path(SHA).unlink()
    mirrors = Mirrors.from_sources([], {}, config)
    [res2] = fetch_data(loaded, Workspace.at(tmp_path / "ws2"), mirrors=mirrors, http=FAST)
    assert res2.url == http_server.url("pub/blob.bin")


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_archive_is_extracted_and_post_steps_run(tmp_path: Path, http_server: FileServer) -> None:
    archive = _tar_gz({"facades/train/1.jpg": b"a", "facades/train/2.jpg": b"b", "facades/val/3.jpg": b"c"})
    url = http_server.put("facades.tar.gz", archive)
    ds = {
        "name": "facades",
        "kind": "http",
        "urls": [url],
        "dest": "src/pix2pix/datasets",
        "post": [
            {"move": {"from": "facades/val", "to": "facades/test"}},
            {"list": {"glob": "**/*.jpg", "output": "facades/train_list.txt", "root": "facades", "strip_suffix": True}},
            {"run": {"argv": ["touch", "prepared.flag"], "cwd": "facades"}},
        ],
    }
    loaded = recipe(
        tmp_path,
        sources=[{"name": "pix2pix", "url": "https://example.invalid/p.git", "commit": "a" * 40}],
        datasets=[ds],
    )
    ws = Workspace.at(tmp_path / "ws")
    with pytest.raises(FetchError, match="inside source pix2pix, which is not fetched yet"):
        fetch_data(loaded, ws, http=FAST)
    assert not (ws.root / "src").exists()
    (ws.root / "src/pix2pix/datasets").mkdir(parents=True)
    (ws.root / "src/pix2pix/.git").mkdir()  # stands in for the checked-out source tree
    (ws.root / "src/pix2pix/datasets/download.sh").write_text("# from the repo\n")
    [res] = fetch_data(loaded, ws, http=FAST)
    dest = ws.root / "src/pix2pix/datasets"
    assert res.placed == ["facades"]
    assert (dest / "download.sh").exists()  # the directory was merged into, not replaced
    assert (dest / "facades/test/3.jpg").read_bytes() == b"c"
    assert (dest / "facades/train_list.txt").read_text() == "test/3\ntrain/1\ntrain/2\n"
    assert (dest / "facades/prepared.flag").exists()
    assert not [p for p in dest.iterdir() if p.name.startswith(".legacyrun")]
    before = http_server.count()
    [again] = fetch_data(loaded, ws, http=FAST)
    assert again.skipped and http_server.count() == before


def test_manual_dataset_instructions_then_from_path(tmp_path: Path) -> None:
    ds = {
        "name": "synth",
        "kind": "manual",
        "filename": "SynthText.zip",
        "sha256": SHA,
        "dest": "data/synth",
        "extract": "none",
        "instructions": "Log in and download SynthText.zip.",
        "links": [{"url": "https://pan.baidu.com/s/xyz", "site": "Baidu Pan", "code": "ab12"}],
    }
    loaded = recipe(tmp_path, datasets=[ds])
    ws = Workspace.at(tmp_path / "ws")
    with pytest.raises(ManualStepRequired) as info:
        fetch_data(loaded, ws)
    text = "\n".join(info.value.lines())
    assert "synth" in info.value.message and "Baidu Pan" in text and "ab12" in text and "--from" in text
    wrong = tmp_path / "wrong.zip"
    wrong.write_bytes(b"not it")
    with pytest.raises(FetchError, match="does not match"):
        fetch_data(loaded, ws, names=["synth"], from_path=wrong)
    mine = tmp_path / "downloads" / "SynthText.zip"
    mine.parent.mkdir()
    mine.write_bytes(BLOB)
    [res] = fetch_data(loaded, ws, names=["synth"], from_path=mine)
    assert res.files[0].sha256 == SHA and (ws.root / "data/synth/SynthText.zip").read_bytes() == BLOB
    assert mine.exists()  # the user's file is copied, not taken away
    with pytest.raises(UsageError):
        fetch_data(loaded, ws, names=["nope"])


def test_aria2_kind(tmp_path: Path, http_server: FileServer) -> None:
    if not __import__("shutil").which("aria2c"):
        pytest.skip("aria2c is not installed (apt-get install aria2)")
    url = http_server.put("blob.bin", BLOB)
    loaded = recipe(tmp_path, datasets=[_ds(url, kind="aria2", sha256=SHA)])
    [res] = fetch_data(loaded, Workspace.at(tmp_path / "ws"), http=FAST)
    assert res.files[0].sha256 == SHA


def test_aria2_missing_says_how_to_install(
    tmp_path: Path, http_server: FileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = http_server.put("blob.bin", BLOB)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    loaded = recipe(tmp_path, datasets=[_ds(url, kind="aria2")])
    with pytest.raises(ToolMissingError) as info:
        fetch_data(loaded, Workspace.at(tmp_path / "ws"), http=FAST)
    assert "aria2c" in info.value.message and "apt-get install aria2" in (info.value.hint or "")
