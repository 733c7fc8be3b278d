"""What names an environment: a content id over rendered files, and a content hash of the source trees.

Images and prefixes are named by the id, so the same inputs always find the same environment.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from legacyrun import gitcli


def content_id(files: Mapping[str, str], extra: Mapping[str, str] | None = None) -> str:
    """sha256 over sorted (name, text) pairs plus extra inputs: the same inputs always give the same id."""
    payload = json.dumps({"files": dict(files), "extra": dict(extra or {})}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


_SKIP_DIRS = frozenset({".git", "__pycache__"})
_SKIP_SUFFIXES = (".pyc", ".pyo")


def iter_source_files(src: Path) -> Iterator[Path]:
    """The files of the workspace sources that belong in an environment, in sorted order.

    For a git work tree these are the tracked files (the pinned commit plus legacyrun's patch commits): what a
    task writes into its tree (checkpoints, results, unpacked data) must not change the environment's id, or a
    second `up` would rebuild after every run. Other folders are walked whole, without .git and bytecode.
    """
    if not src.is_dir():
        return
    for top in sorted(p for p in src.iterdir() if p.is_dir()):
        tracked = _git_tracked(top)
        if tracked is not None:
            yield from (top / rel for rel in tracked if (top / rel).is_file() or (top / rel).is_symlink())
            continue
        for root, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d not in (".git", "__pycache__"))
            for name in sorted(files):
                if name != ".git" and not name.endswith(".pyc"):
                    yield Path(root) / name


def _git_tracked(tree: Path) -> list[str] | None:
    if not (tree / ".git").exists():
        return None
    files = gitcli.tracked_files(tree)  # ls-files lists the cached (tracked) paths
    return None if files is None else sorted(files)


def source_tree_hash(src: Path) -> str:
    """Content hash of the source trees (paths, modes, bytes; not mtimes), so a patch changes it."""
    h = hashlib.sha256()
    for path in iter_source_files(src):
        rel = path.relative_to(src).as_posix()
        if path.is_symlink():
            h.update(f"L {rel} {os.readlink(path)}\n".encode())
            continue
        executable = os.access(path, os.X_OK)
        h.update(f"F {rel} {int(executable)} ".encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


__all__ = ["content_id", "iter_source_files", "source_tree_hash"]
