"""Safe extraction of tar (plain, gz, bz2, xz) and zip archives: check every member first, unpack into a temp
directory, then rename the top-level entries into place.

Refused (the whole archive, before anything is written): absolute paths and drive letters, `..` that climbs out,
members reached through a symlink of the same archive, symlinks and hard links whose target is absolute or outside
the destination, device nodes and FIFOs. Tar extraction additionally runs tarfile's `data` filter, so even a case
this scan missed fails inside the temp directory, which is then removed.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from legacyrun.errors import FetchError

_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz")


def detect_format(filename: str, extract: str = "auto") -> str | None:
    """'tar', 'zip' or None (keep the file as it is), from the recipe's `extract` and the file name."""
    if extract in ("tar", "zip"):
        return extract
    if extract == "none":
        return None
    lower = filename.lower()
    if lower.endswith(_TAR_SUFFIXES):
        return "tar"
    if lower.endswith(".zip"):
        return "zip"
    return None


@dataclass(frozen=True)
class _Member:
    name: str
    kind: str  # file, dir, symlink, hardlink, special
    link: str = ""


def _strip(name: str, strip: int) -> str | None:
    """Member path with `strip` leading components removed; None when nothing is left (the member is skipped)."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if name.startswith("/"):
        parts.insert(0, "/")  # keep absolute paths absolute, so they are refused rather than quietly fixed
    rest = parts[strip:] if strip else parts
    if not rest:
        return None
    return "/".join(rest).replace("//", "/")


def _inside(path: str) -> bool:
    """A relative path that stays inside the destination after normalisation."""
    if path.startswith(("/", "\\")) or (len(path) > 1 and path[1] == ":"):
        return False
    norm = posixpath.normpath(path)
    return norm != ".." and not norm.startswith("../") and not norm.startswith("/")


def _check(members: list[_Member], where: str) -> None:
    """Refuse the archive at the first dangerous member."""
    symlinks: set[str] = set()
    for m in members:
        name = m.name
        if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
            raise FetchError(f"{where}: member {name!r} has an absolute path; refusing to extract")
        if ".." in name.split("/") and not _inside(name):
            raise FetchError(f"{where}: member {name!r} climbs out of the destination with '..'; refusing to extract")
        if ".." in name.split("/"):
            raise FetchError(f"{where}: member {name!r} contains '..'; refusing to extract")
        norm = posixpath.normpath(name)
        parents = norm.split("/")[:-1]
        for i in range(1, len(parents) + 1):
            if "/".join(parents[:i]) in symlinks:
                raise FetchError(f"{where}: member {name!r} goes through a symlink of the archive; refusing to extract")
        if m.kind == "special":
            raise FetchError(f"{where}: member {name!r} is a device node or FIFO; refusing to extract")
        if m.kind == "symlink":
            if m.link.startswith("/") or not _inside(posixpath.join(posixpath.dirname(norm), m.link)):
                raise FetchError(f"{where}: symlink {name!r} -> {m.link!r} points outside the destination")
            symlinks.add(norm)
        if m.kind == "hardlink" and (m.link.startswith("/") or not _inside(m.link)):
            raise FetchError(f"{where}: hard link {name!r} -> {m.link!r} points outside the destination")


def _tar_members(tf: tarfile.TarFile, strip: int) -> list[_Member]:
    out = []
    for ti in tf.getmembers():
        name = _strip(ti.name, strip)
        if name is None:
            continue
        if ti.issym():
            out.append(_Member(name, "symlink", ti.linkname))
        elif ti.islnk():
            out.append(_Member(name, "hardlink", _strip(ti.linkname, strip) or ti.linkname))
        elif ti.isdir():
            out.append(_Member(name, "dir"))
        elif ti.isfile():
            out.append(_Member(name, "file"))
        else:
            out.append(_Member(name, "special"))
    return out


def _zip_kind(info: zipfile.ZipInfo) -> str:
    mode = info.external_attr >> 16
    if info.is_dir():
        return "dir"
    if mode and stat.S_ISLNK(mode):
        return "symlink"
    if mode and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return "special"
    return "file"


def _extract_tar(archive: Path, tmp: Path, strip: int, where: str) -> None:
    with tarfile.open(archive, "r:*") as tf:
        _check(_tar_members(tf, strip), where)

        def _filter(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
            name = _strip(member.name, strip)
            if name is None:
                return None
            changes: dict[str, str] = {"name": name}
            if member.islnk():
                changes["linkname"] = _strip(member.linkname, strip) or member.linkname
            return tarfile.data_filter(member.replace(**changes, deep=False), path)  # type: ignore[arg-type]

        try:
            tf.extractall(tmp, filter=_filter)
        except tarfile.FilterError as exc:
            raise FetchError(f"{where}: {exc}; refusing to extract") from None


def _extract_zip(archive: Path, tmp: Path, strip: int, where: str) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = []
        members = []
        for info in zf.infolist():
            name = _strip(info.filename, strip)
            if name is None:
                continue
            kind = _zip_kind(info)
            link = zf.read(info).decode("utf-8", "replace") if kind == "symlink" else ""
            members.append(_Member(name, kind, link))
            infos.append((info, name, kind, link))
        _check(members, where)
        root = tmp.resolve()
        for info, name, kind, link in infos:
            target = tmp / name
            parent = target.parent.resolve()
            if parent != root and root not in parent.parents:
                raise FetchError(f"{where}: member {info.filename!r} resolves outside the destination")
            if kind == "dir":
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if kind == "symlink":
                os.symlink(link, target)
                continue
            with zf.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(target, mode & 0o755 | 0o600)


def _place(tmp: Path, dest: Path) -> list[str]:
    """Rename each top-level entry of `tmp` into `dest`, replacing an entry of the same name."""
    placed = []
    for entry in sorted(tmp.iterdir()):
        target = dest / entry.name
        if target.is_symlink() or target.exists():
            old = tmp.parent / f"{tmp.name}.old-{entry.name}"
            os.replace(target, old)
            os.replace(entry, target)
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)
        else:
            os.replace(entry, target)
        placed.append(entry.name)
    return placed


def extract(archive: Path, dest: Path, *, fmt: str, strip_components: int = 0, label: str | None = None) -> list[str]:
    """Unpack `archive` ('tar' or 'zip') into `dest`; returns the top-level names placed there.

    Everything is unpacked into a temp directory inside `dest` first; on any error that directory is removed and
    `dest` is as it was.
    """
    where = label or archive.name
    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".legacyrun-extract-", dir=dest))
    try:
        unpack = tmp / "t"
        unpack.mkdir()
        try:
            if fmt == "tar":
                _extract_tar(archive, unpack, strip_components, where)
            elif fmt == "zip":
                _extract_zip(archive, unpack, strip_components, where)
            else:
                raise FetchError(f"{where}: unknown archive format {fmt!r}")
        except (tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
            raise FetchError(f"{where}: not a valid {fmt} archive: {exc}") from None
        return _place(unpack, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


__all__ = ["detect_format", "extract"]
