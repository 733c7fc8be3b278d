"""Safe extraction of tar (plain, gz, bz2, xz) and zip archives: check every member first, unpack into a temp
directory, then rename the top-level entries into place.

Refused (the whole archive, before anything is written): absolute paths and drive letters, `..` that climbs out,
members reached through a symlink of the same archive, symlinks and hard links whose target is absolute or outside
the destination, device nodes and FIFOs. Tar extraction additionally runs tarfile's `data` filter, so even a case
this scan missed fails inside the temp directory, which is then removed. Zip members are checked on disk as
tarfile's data filter does: each symlink's resolved target and each file's resolved parent must lie inside the
destination (a chain of relative links that is harmless as text can still climb out), a file is never written
through an existing link, and a clash (a file where a directory is, a second member over a link) is refused.

Archive bombs are refused against `Limits` (total unpacked size, member count, unpacked/packed ratio) from the
members' headers before anything is written, and again while zip data is copied.
"""

from __future__ import annotations

import lzma
import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from legacyrun.errors import FetchError


@dataclass(frozen=True)
class Limits:
    """What one archive may unpack to; the defaults fit the largest real dataset archives (COCO's 19 GB zip)."""

    max_bytes: int = 64 << 30
    max_members: int = 2_000_000
    max_ratio: float = 200.0  # unpacked bytes per packed byte; text compresses ~10x, a bomb ~1000x
    files_only: bool = False  # recipe bundles and sources hold text: no links at all


DEFAULT_LIMITS = Limits()

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
    size: int = 0


_LIMIT_HINT = "if the archive is genuine, raise the dataset's unpack_limits (max_bytes, max_members, max_ratio)"


def _check_limits(members: list[_Member], packed: int, limits: Limits, where: str) -> None:
    total = sum(m.size for m in members)
    if len(members) > limits.max_members:
        raise FetchError(
            f"{where}: {len(members)} members, more than the limit of {limits.max_members}; refusing", hint=_LIMIT_HINT
        )
    if total > limits.max_bytes:
        raise FetchError(
            f"{where}: unpacks to {total} bytes, more than the limit of {limits.max_bytes}; refusing", hint=_LIMIT_HINT
        )
    if total > 1 << 20 and total > limits.max_ratio * max(packed, 1):
        raise FetchError(
            f"{where}: unpacks to {total} bytes from {packed} ({total // max(packed, 1)}x), more than the "
            f"ratio limit of {limits.max_ratio:g}x (an archive bomb?); refusing",
            hint=_LIMIT_HINT,
        )


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


def _check(members: list[_Member], where: str, files_only: bool = False) -> None:
    """Refuse the archive at the first dangerous member."""
    symlinks: set[str] = set()
    for m in members:
        name = m.name
        if "\x00" in name:
            raise FetchError(f"{where}: member {name!r} has a NUL in its name; refusing to extract")
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
        if files_only and m.kind not in ("file", "dir"):
            raise FetchError(f"{where}: member {name!r} is a link or special file; refusing to extract it")
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
            out.append(_Member(name, "file", size=ti.size))
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


def _extract_tar(archive: Path, tmp: Path, strip: int, where: str, limits: Limits) -> None:
    with tarfile.open(archive, "r:*") as tf:
        members = _tar_members(tf, strip)
        _check(members, where, limits.files_only)
        _check_limits(members, archive.stat().st_size, limits, where)

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
        except OSError as exc:  # a member clashing with another (a file where a directory is)
            raise FetchError(f"{where}: members clash: {exc.strerror}: {exc.filename!r}; refusing to extract") from None


def _inside_on_disk(path: Path, root: Path) -> bool:
    resolved = Path(os.path.realpath(path))
    return resolved == root or root in resolved.parents


def _extract_zip(archive: Path, tmp: Path, strip: int, where: str, limits: Limits) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = []
        members = []
        for info in zf.infolist():
            name = _strip(info.filename, strip)
            if name is None:
                continue
            kind = _zip_kind(info)
            link = zf.read(info).decode("utf-8", "replace") if kind == "symlink" else ""
            members.append(_Member(name, kind, link, info.file_size if kind == "file" else 0))
            infos.append((info, name, kind, link))
        _check(members, where, limits.files_only)
        _check_limits(members, archive.stat().st_size, limits, where)
        root = tmp.resolve()
        written = 0
        for info, name, kind, link in infos:
            target = tmp / name
            try:
                if not _inside_on_disk(target.parent, root):
                    raise FetchError(f"{where}: member {info.filename!r} resolves outside the destination")
                if kind == "dir":
                    if target.is_symlink():
                        raise FetchError(f"{where}: directory {info.filename!r} clashes with a symlink; refusing")
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                if not _inside_on_disk(target.parent, root):
                    raise FetchError(f"{where}: member {info.filename!r} resolves outside the destination")
                if target.is_symlink() or target.exists():
                    raise FetchError(f"{where}: member {info.filename!r} clashes with an earlier member; refusing")
                if kind == "symlink":
                    os.symlink(link, target)
                    # As tarfile's data filter: the link's target, resolved on disk through earlier links, must
                    # stay inside (its text alone can look harmless in a chain).
                    if not _inside_on_disk(target, root):
                        raise FetchError(
                            f"{where}: symlink {info.filename!r} -> {link!r} resolves outside the destination"
                        )
                    continue
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                with zf.open(info) as src, os.fdopen(os.open(target, flags, 0o600), "wb") as dst:
                    while chunk := src.read(1 << 20):
                        written += len(chunk)
                        if written > limits.max_bytes:
                            raise FetchError(
                                f"{where}: unpacks to more than {limits.max_bytes} bytes; refusing", hint=_LIMIT_HINT
                            )
                        dst.write(chunk)
                mode = (info.external_attr >> 16) & 0o777
                # No setuid/setgid/sticky bits, no group/other write: as tarfile's data filter.
                os.chmod(target, (mode & 0o755 | 0o600) if mode else 0o644)
            except OSError as exc:
                raise FetchError(f"{where}: member {info.filename!r}: {exc.strerror}; refusing to extract") from None


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


def extract(
    archive: Path,
    dest: Path,
    *,
    fmt: str,
    strip_components: int = 0,
    label: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> list[str]:
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
                _extract_tar(archive, unpack, strip_components, where, limits)
            elif fmt == "zip":
                _extract_zip(archive, unpack, strip_components, where, limits)
            else:
                raise FetchError(f"{where}: unknown archive format {fmt!r}")
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError) as exc:
            # zlib and lzma raise their own errors for a stream damaged past its header (a spliced download).
            # tarfile's message lists each compression it tried, one per line: the error stays one line.
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise FetchError(f"{where}: not a valid {fmt} archive: {first}") from None
        return _place(unpack, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


__all__ = ["DEFAULT_LIMITS", "Limits", "detect_format", "extract"]
