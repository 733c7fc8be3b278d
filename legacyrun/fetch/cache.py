"""The per-user content-addressed download cache: `downloads_dir()/<sha256[:2]>/<sha256>`.

A file enters the cache only after its sha256 was computed over the bytes written (and matched the expected value
when there is one), so whatever is in the cache is trusted by name. Unfinished downloads live in `partial/` under a
key derived from what is being downloaded, so a rerun (even after SIGKILL) resumes the same `.part` file. Files
leave the cache for a workspace as hard links when possible, else copies, always through a temp name + rename.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from legacyrun.fsutil import atomic_write_text
from legacyrun.userdirs import downloads_dir


def cache_root() -> Path:
    return downloads_dir()


def cached_path(sha256: str) -> Path:
    return cache_root() / sha256[:2] / sha256


def lookup(sha256: str | None) -> Path | None:
    """The cached file for `sha256`, or None (a None sha is never in the cache)."""
    if not sha256:
        return None
    path = cached_path(sha256)
    return path if path.is_file() else None


def partial_dir() -> Path:
    return cache_root() / "partial"


def partial_key(*parts: str) -> str:
    """A stable name for an unfinished download (what is fetched, not from which mirror)."""
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:32]


def partial_path(key: str, filename: str) -> Path:
    """`partial/<key>/<filename>.part`: one folder per download so aria2c's control files stay beside it."""
    return partial_dir() / key / (filename + ".part")


def _url_index(urls: list[str], filename: str) -> Path:
    return cache_root() / "by-url" / partial_key(filename, *urls)


def remember_url(urls: list[str], filename: str, sha256: str, origin: dict[str, Any] | None = None) -> None:
    """Note which content a recipe's URLs gave, so another workspace without a recorded sha256 reuses it; with the
    first-use origin (url, validator, bytes) of a download without a published sha256, which that workspace
    records as if it had downloaded the file itself."""
    extra = json.dumps(origin, sort_keys=True) + "\n" if origin else ""
    atomic_write_text(_url_index(urls, filename), sha256 + "\n" + extra)


def url_origin(urls: list[str], filename: str) -> dict[str, Any] | None:
    """The first-use origin remember_url kept for these URLs, or None."""
    try:
        lines = _url_index(urls, filename).read_text(encoding="utf-8").splitlines()
        found = json.loads(lines[1]) if len(lines) > 1 else None
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def lookup_url(urls: list[str], filename: str) -> Path | None:
    """The cached file an earlier download of these URLs produced, or None."""
    try:
        sha = _url_index(urls, filename).read_text(encoding="utf-8").split("\n", 1)[0].strip()
    except OSError:
        return None
    return lookup(sha) if len(sha) == 64 else None


def adopt(path: Path, sha256: str, *, move: bool) -> Path:
    """Put an already verified file into the cache under its sha256 (moved, or copied for a user's own file)."""
    dest = cached_path(sha256)
    if dest.is_file():
        if move:
            path.unlink(missing_ok=True)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    if move:
        os.replace(path, dest)
    else:
        fd, tmp = tempfile.mkstemp(prefix=f".{sha256}.", suffix=".tmp", dir=dest.parent)
        os.close(fd)
        try:
            shutil.copyfile(path, tmp)
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    os.chmod(dest, 0o444)
    return dest


def materialize(cached: Path, target: Path) -> None:
    """Make `target` have the cached content: hard link if the file system allows, else a copy; atomic."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    try:
        try:
            os.link(cached, tmp)
        except OSError:
            # Different file systems (or no hard links): a copy is the price.
            shutil.copyfile(cached, tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


__all__ = [
    "adopt",
    "cache_root",
    "cached_path",
    "lookup",
    "lookup_url",
    "materialize",
    "partial_dir",
    "partial_key",
    "partial_path",
    "remember_url",
]
