"""Safe extraction: malicious tar and zip archives are refused and nothing lands outside the destination."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from legacyrun.errors import FetchError
from legacyrun.fetch.archive import detect_format, extract


def _tar(path: Path, build: Callable[[tarfile.TarFile], None], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tf:
        build(tf)
    return path


def _file(tf: tarfile.TarFile, name: str, data: bytes = b"evil\n") -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tf.addfile(info, io.BytesIO(data))


def _link(tf: tarfile.TarFile, name: str, target: str, kind: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    tf.addfile(info)


def _special(tf: tarfile.TarFile, name: str, kind: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.devmajor, info.devminor = 1, 3
    tf.addfile(info)


def _zip(path: Path, entries: list[tuple[str, bytes, int | None]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            if mode is not None:
                info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


TAR_CASES: dict[str, Callable[[tarfile.TarFile], None]] = {
    "absolute-path": lambda tf: _file(tf, "/tmp/legacyrun-evil-abs"),
    "dotdot": lambda tf: _file(tf, "../outside.txt"),
    "nested-dotdot": lambda tf: _file(tf, "ok/../../outside.txt"),
    "symlink-absolute": lambda tf: _link(tf, "passwd", "/etc/passwd", tarfile.SYMTYPE),
    "symlink-escape": lambda tf: _link(tf, "up", "../../outside", tarfile.SYMTYPE),
    "write-through-symlink": lambda tf: (
        _link(tf, "dir", ".", tarfile.SYMTYPE),
        _file(tf, "dir/through.txt"),
    ),
    "symlink-chain": lambda tf: (
        _link(tf, "a/up", "..", tarfile.SYMTYPE),
        _link(tf, "a/up/up2", "..", tarfile.SYMTYPE),
    ),
    "hardlink-absolute": lambda tf: _link(tf, "hard", "/etc/passwd", tarfile.LNKTYPE),
    "hardlink-escape": lambda tf: _link(tf, "hard", "../outside.txt", tarfile.LNKTYPE),
    "char-device": lambda tf: _special(tf, "null", tarfile.CHRTYPE),
    "block-device": lambda tf: _special(tf, "sda", tarfile.BLKTYPE),
    "fifo": lambda tf: _special(tf, "pipe", tarfile.FIFOTYPE),
}

ZIP_CASES: dict[str, list[tuple[str, bytes, int | None]]] = {
    "zip-slip": [("ok.txt", b"ok", None), ("../../outside.txt", b"evil", None)],
    "zip-absolute": [("/tmp/legacyrun-evil-zip", b"evil", None)],
    "zip-backslash": [("..\\..\\outside.txt", b"evil", None)],
    "zip-drive": [("C:/Windows/evil.txt", b"evil", None)],
    "zip-symlink-escape": [("link", b"../../outside", stat.S_IFLNK | 0o777)],
    "zip-symlink-absolute": [("link", b"/etc/passwd", stat.S_IFLNK | 0o777)],
    "zip-device": [("dev", b"", stat.S_IFCHR | 0o644)],
}


def _snapshot(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


@pytest.mark.parametrize("case", sorted(TAR_CASES))
@pytest.mark.parametrize("mode", ["w:gz", "w:bz2", "w:xz"])
def test_malicious_tar_is_refused(tmp_path: Path, case: str, mode: str) -> None:
    archive = _tar(tmp_path / f"evil.tar.{mode[2:]}", TAR_CASES[case], mode)
    box = tmp_path / "box"
    dest = box / "data" / "dest"
    dest.mkdir(parents=True)
    (dest / "keep.txt").write_text("mine\n")
    before = _snapshot(tmp_path)
    with pytest.raises(FetchError) as info:
        extract(archive, dest, fmt="tar")
    assert "refusing" in info.value.message or "outside" in info.value.message
    assert "\n" not in info.value.message
    assert _snapshot(tmp_path) == before
    assert not Path("/tmp/legacyrun-evil-abs").exists()


@pytest.mark.parametrize("case", sorted(ZIP_CASES))
def test_malicious_zip_is_refused(tmp_path: Path, case: str) -> None:
    archive = _zip(tmp_path / "evil.zip", ZIP_CASES[case])
    dest = tmp_path / "box" / "dest"
    dest.mkdir(parents=True)
    before = _snapshot(tmp_path)
    with pytest.raises(FetchError):
        extract(archive, dest, fmt="zip")
    assert _snapshot(tmp_path) == before
    assert not Path("/tmp/legacyrun-evil-zip").exists()


def test_good_archives_with_strip_and_internal_links(tmp_path: Path) -> None:
    def build(tf: tarfile.TarFile) -> None:
        _file(tf, "pkg-1.0/a/x.txt", b"x")
        _link(tf, "pkg-1.0/a/y.txt", "x.txt", tarfile.SYMTYPE)
        _link(tf, "pkg-1.0/hard.txt", "pkg-1.0/a/x.txt", tarfile.LNKTYPE)

    archive = _tar(tmp_path / "good.tar.xz", build, "w:xz")
    dest = tmp_path / "dest"
    assert extract(archive, dest, fmt="tar", strip_components=1) == ["a", "hard.txt"]
    assert (dest / "a/y.txt").read_bytes() == b"x" and (dest / "hard.txt").read_bytes() == b"x"
    z = _zip(tmp_path / "good.zip", [("top/d/f.txt", b"f", 0o644), ("top/l", b"d/f.txt", stat.S_IFLNK | 0o777)])
    out = tmp_path / "zdest"
    assert extract(z, out, fmt="zip") == ["top"]
    assert (out / "top/l").read_bytes() == b"f"


def test_not_an_archive_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "x.tar.gz"
    junk.write_bytes(b"definitely not gzip")
    with pytest.raises(FetchError, match="not a valid tar archive"):
        extract(junk, tmp_path / "d", fmt="tar")
    assert detect_format("a.TGZ") == "tar" and detect_format("b.zip") == "zip" and detect_format("c.h5") is None
    assert detect_format("c.h5", "zip") == "zip" and detect_format("a.tar", "none") is None


@pytest.mark.parametrize("mode", ["w:gz", "w:xz"])
def test_stream_damaged_past_its_header_is_a_clear_error(tmp_path: Path, mode: str) -> None:
    import random

    def archive(seed: int) -> bytes:
        data = random.Random(seed).randbytes(300_000)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode=mode) as tar:
            info = tarfile.TarInfo("a.bin")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        return buf.getvalue()

    # What a download resumed across a change on the server looks like: one file's start, another's end.
    one, two = archive(1), archive(2)
    spliced = tmp_path / "x.tar"
    spliced.write_bytes(one[: len(one) // 2] + two[len(one) // 2 :])
    with pytest.raises(FetchError, match="not a valid tar archive"):
        extract(spliced, tmp_path / "d", fmt="tar")
