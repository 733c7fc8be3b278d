"""Hostile archives (issue 15, item 2): link chains resolved on disk for zip as for tar, clashing members, bombs
(size, ratio, member count), setuid bits, special files, and a dataset `dest` that reaches the workspace's own
files. Every class is generated here; none may write outside the destination.

Together with tests/fetch/test_fetch_archive.py (11 tar and 7 zip classes) these are more than 30 classes.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from legacyrun.errors import FetchError
from legacyrun.fetch.archive import Limits, extract

ZipEntry = tuple[str, bytes, int | None]


def _zip(path: Path, entries: list[ZipEntry]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode is not None:
                info.external_attr = mode << 16
            zf.writestr(info, data)
    return path


def _tar(path: Path, entries: list[tuple[str, bytes, bytes, str, int]]) -> Path:
    """(name, type, data, linkname, mode) per member."""
    with tarfile.open(path, "w:gz") as tf:
        for name, kind, data, link, mode in entries:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.mode = mode
            info.linkname = link
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            tf.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return path


LNK = stat.S_IFLNK | 0o777
F = tarfile.REGTYPE
S = tarfile.SYMTYPE
D = tarfile.DIRTYPE

ZIP_REFUSED: dict[str, list[ZipEntry]] = {
    # Each link is harmless as text; on disk the chain climbs out.
    "zip-link-chain-escape": [("a/l1", b"..", LNK), ("l2", b"a/l1/..", LNK), ("l2/evil.txt", b"evil", None)],
    "zip-link-chain-to-root": [("d/l1", b".", LNK), ("d/e/l2", b"../l1/..", LNK), ("d/e/l2/x", b"evil", None)],
    "zip-link-chain-via-dir": [("x/y/up", b"..", LNK), ("x/up2", b"y/up/../..", LNK)],
    "zip-file-over-symlink": [("t.txt", b"ok", None), ("l", b"t.txt", LNK), ("l", b"evil", None)],
    "zip-dir-over-file": [("f", b"file", None), ("f/", b"", None)],
    "zip-file-over-dir": [("f/", b"", None), ("f/x", b"x", None), ("f", b"file", None)],
    "zip-duplicate-file": [("same.txt", b"one", None), ("same.txt", b"two", None)],
    "zip-dir-over-symlink": [("l", b".", LNK), ("l/", b"", None)],
    "zip-fifo": [("pipe", b"", stat.S_IFIFO | 0o644)],
    "zip-block-device": [("sda", b"", stat.S_IFBLK | 0o644)],
    "zip-socket": [("sock", b"", stat.S_IFSOCK | 0o644)],
    "zip-bomb-ratio": [("zeros.bin", b"\0" * (4 << 20), None)],
}

TAR_REFUSED: dict[str, list[tuple[str, bytes, bytes, str, int]]] = {
    "tar-file-over-symlink": [
        ("t.txt", F, b"ok", "", 0o644),
        ("l", S, b"", "t.txt", 0o777),
        ("l/x", F, b"e", "", 0o644),
    ],
    "tar-dir-over-file": [("f", F, b"file", "", 0o644), ("f/x", F, b"x", "", 0o644)],
    "tar-link-chain-to-root": [("d/l1", S, b"", ".", 0o777), ("d/e/l2", S, b"", "../l1/../../..", 0o777)],
    "tar-bomb-ratio": [("zeros.bin", F, b"\0" * (4 << 20), "", 0o644)],
}


def _snapshot(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def _box(tmp_path: Path) -> tuple[Path, set[str]]:
    dest = tmp_path / "ws" / "data" / "dest"
    dest.mkdir(parents=True)
    (dest / "keep.txt").write_text("mine\n")
    (tmp_path / "ws" / "legacyrun.lock").write_text("lock\n")
    return dest, _snapshot(tmp_path)


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("case", sorted(ZIP_REFUSED))
def test_hostile_zip_is_refused_and_writes_nothing(tmp_path: Path, case: str) -> None:
    archive = _zip(tmp_path / "evil.zip", ZIP_REFUSED[case])
    dest, before = _box(tmp_path)
    with pytest.raises(FetchError) as info:
        extract(archive, dest, fmt="zip")
    assert "\n" not in info.value.message and info.value.exit_code == 4
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("case", sorted(TAR_REFUSED))
def test_hostile_tar_is_refused_and_writes_nothing(tmp_path: Path, case: str) -> None:
    archive = _tar(tmp_path / "evil.tar.gz", TAR_REFUSED[case])
    dest, before = _box(tmp_path)
    with pytest.raises(FetchError) as info:
        extract(archive, dest, fmt="tar")
    assert "\n" not in info.value.message and info.value.exit_code == 4
    assert _snapshot(tmp_path) == before


LIMITED: dict[str, tuple[Callable[[Path], Path], str, Limits]] = {
    "zip-member-count": (
        lambda p: _zip(p / "a.zip", [(f"f{i}", b"x", None) for i in range(101)]),
        "zip",
        Limits(max_members=100),
    ),
    "tar-member-count": (
        lambda p: _tar(p / "a.tar.gz", [(f"f{i}", F, b"x", "", 0o644) for i in range(101)]),
        "tar",
        Limits(max_members=100),
    ),
    "zip-total-size": (lambda p: _zip(p / "a.zip", [("big", os.urandom(5000), None)]), "zip", Limits(max_bytes=4096)),
    "tar-total-size": (
        lambda p: _tar(p / "a.tar.gz", [("big", F, os.urandom(5000), "", 0o644)]),
        "tar",
        Limits(max_bytes=4096),
    ),
}


@pytest.mark.parametrize("case", sorted(LIMITED))
def test_limits_refuse_with_a_clear_error(tmp_path: Path, case: str) -> None:
    build, fmt, limits = LIMITED[case]
    archive = build(tmp_path)
    dest, before = _box(tmp_path)
    with pytest.raises(FetchError, match="limit") as info:
        extract(archive, dest, fmt=fmt, limits=limits)
    assert info.value.exit_code == 4
    assert _snapshot(tmp_path) == before
    # The same archive passes with the default limits: the limit, not the archive, refused it.
    extract(archive, dest, fmt=fmt)


def test_setuid_bits_are_dropped_zip_and_tar(tmp_path: Path) -> None:
    z = _zip(tmp_path / "s.zip", [("suid", b"#!/bin/sh\n", stat.S_IFREG | 0o6777)])
    t = _tar(tmp_path / "s.tar.gz", [("suid", F, b"#!/bin/sh\n", "", 0o6777)])
    for archive, fmt in ((z, "zip"), (t, "tar")):
        dest = tmp_path / f"out-{fmt}"
        extract(archive, dest, fmt=fmt)
        mode = (dest / "suid").stat().st_mode
        assert not mode & (stat.S_ISUID | stat.S_ISGID | stat.S_IWOTH), (fmt, oct(mode))


def test_internal_zip_link_chain_that_stays_inside_is_kept(tmp_path: Path) -> None:
    z = _zip(tmp_path / "ok.zip", [("d/f.txt", b"f", None), ("d/l1", b"f.txt", LNK), ("l2", b"d/l1", LNK)])
    extract(z, tmp_path / "out", fmt="zip")
    assert (tmp_path / "out" / "l2").read_bytes() == b"f"


@pytest.mark.parametrize("dest", [".", ".legacyrun", ".legacyrun/x", "env", "runs/1"])
def test_dataset_dest_cannot_reach_the_workspace_files(tmp_path: Path, dest: str) -> None:
    from legacyrun.fetch.data import dataset_dest
    from legacyrun.recipe.models import Dataset
    from legacyrun.workspace import Workspace

    ds = Dataset.model_validate({"name": "d", "kind": "http", "urls": ["http://127.0.0.1/x.zip"], "dest": dest})
    with pytest.raises(FetchError, match="workspace's own files") as info:
        dataset_dest(Workspace(tmp_path), ds)
    assert info.value.exit_code == 4
    ok = Dataset.model_validate({"name": "d", "kind": "http", "urls": ["http://127.0.0.1/x.zip"], "dest": "data/d"})
    assert dataset_dest(Workspace(tmp_path), ok) == (tmp_path / "data" / "d").resolve()


def test_recipe_unpack_limits_raise_the_defaults(tmp_path: Path) -> None:
    from legacyrun.fetch.archive import DEFAULT_LIMITS
    from legacyrun.fetch.data import unpack_limits
    from legacyrun.recipe.models import Dataset

    base = {"name": "d", "kind": "http", "urls": ["http://127.0.0.1/x.zip"], "dest": "data/d"}
    assert unpack_limits(Dataset.model_validate(base)) == DEFAULT_LIMITS
    raised = unpack_limits(Dataset.model_validate({**base, "unpack_limits": {"max_ratio": 5000.0}}))
    assert raised.max_ratio == 5000.0 and raised.max_bytes == DEFAULT_LIMITS.max_bytes
    bomb = _zip(tmp_path / "b.zip", ZIP_REFUSED["zip-bomb-ratio"])
    with pytest.raises(FetchError) as info:
        extract(bomb, tmp_path / "o1", fmt="zip")
    assert info.value.hint and "unpack_limits" in info.value.hint
    assert extract(bomb, tmp_path / "o2", fmt="zip", limits=raised) == ["zeros.bin"]
