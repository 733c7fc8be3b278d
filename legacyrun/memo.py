"""Results that cost a subprocess or a parse to compute and little to key, remembered across commands.

A no-op `legacyrun up` must be fast (docs/architecture.md), yet every command starts a fresh process: the version
of nvcc and gcc, the values `adapt` reads from config files at a pinned commit, the validated recipe. Each is a
pure function of something cheap to identify (a binary's path and stat, a commit and a file's blob id, a text's
hash) plus the code that computes it, so it is kept under the user cache (`memo/<kind>/<key>.json`) and in memory.

A key names everything the value depends on; when in doubt, put it in the key. Reading or writing the cache never
fails a command: a damaged or unwritable entry is a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from legacyrun.fsutil import atomic_write_text
from legacyrun.userdirs import cache_dir

_MEMORY: dict[tuple[str, str], Any] = {}
_MISS = object()


def key_of(*parts: Any) -> str:
    """A stable key for JSON-able parts."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_identity(path: str | os.PathLike[str]) -> list[Any] | None:
    """What changes when a file is replaced or rewritten (None: it does not exist)."""
    try:
        real = os.path.realpath(path)
        st = os.stat(real)
    except OSError:
        return None
    return [real, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def code_identity(module_file: str) -> list[Any] | None:
    """The identity of the code that computes a value: a changed module invalidates what it remembered."""
    return file_identity(module_file)


def _path(kind: str, key: str) -> Path:
    return cache_dir() / "memo" / kind / f"{key}.json"


def get(kind: str, key: str, *, persist: bool = True) -> Any:
    """The value remembered under kind/key, or `MISS`."""
    found = _MEMORY.get((kind, key), _MISS)
    if found is not _MISS or not persist:
        return found
    try:
        data = json.loads(_path(kind, key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return _MISS
    if not isinstance(data, dict) or "value" not in data:
        return _MISS
    _MEMORY[(kind, key)] = data["value"]
    return data["value"]


def put(kind: str, key: str, value: Any, *, persist: bool = True) -> None:
    """Remember a JSON-able value (in this process; also on disk unless persist=False)."""
    _MEMORY[(kind, key)] = value
    if not persist:
        return
    try:
        text = json.dumps({"value": value}, sort_keys=True, separators=(",", ":"))
        atomic_write_text(_path(kind, key), text)
    except (OSError, TypeError, ValueError):
        pass


def forget_memory() -> None:
    """Drop what this process remembers (tests that change a tool in place)."""
    _MEMORY.clear()


MISS = _MISS

__all__ = ["MISS", "code_identity", "file_identity", "forget_memory", "get", "key_of", "put"]
