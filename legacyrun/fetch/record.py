"""What fetch writes besides files: content ids in legacyrun.lock (when a lock exists) and workspace step records.

Step names: `fetch-code` (inputs: the recipe's sources) and `fetch-data:<name>` (inputs: that dataset's recipe
entry). `legacyrun up` may skip a step whose record has the same inputs hash and whose outputs still exist; the
fetch functions apply the same rule themselves, so calling them again is cheap and makes no network request.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from legacyrun import lock as lockmod
from legacyrun.fsutil import sha256_text
from legacyrun.recipe.models import Dataset, Recipe
from legacyrun.workspace import Workspace

STEP_CODE = "fetch-code"


def step_data(name: str) -> str:
    return f"fetch-data:{name}"


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def code_inputs_hash(recipe: Recipe) -> str:
    return sha256_text(_canonical([s.model_dump(mode="json") for s in recipe.sources]))


def data_inputs_hash(dataset: Dataset) -> str:
    return sha256_text(_canonical(dataset.model_dump(mode="json", by_alias=True)))


def update_lock(ws: Workspace, change: Callable[[lockmod.Lockfile], bool]) -> bool:
    """Read-modify-write the lockfile if there is one; `change` edits it in place and says whether it did."""
    lock = lockmod.read_optional(ws.lockfile)
    if lock is None:
        return False
    if change(lock):
        lockmod.write(ws.lockfile, lock)
        return True
    return False


def locked_files(ws: Workspace, name: str) -> dict[str, str]:
    """sha256 per file of a dataset as the lock records it ({} without a lock or entry)."""
    lock = lockmod.read_optional(ws.lockfile)
    if lock is None or name not in lock.datasets:
        return {}
    return dict(lock.datasets[name].files)


def record_sources(ws: Workspace, commits: dict[str, str]) -> None:
    def change(lock: lockmod.Lockfile) -> bool:
        merged = {**lock.sources, **commits}
        if merged == lock.sources:
            return False
        lock.sources = merged
        return True

    update_lock(ws, change)


def record_packages(ws: Workspace, packages: dict[str, lockmod.PackageLock]) -> None:
    """URL and sha256 of each package-index source; a cache hit (no URL) keeps the URL the lock has."""

    def change(lock: lockmod.Lockfile) -> bool:
        merged = dict(lock.packages)
        for name, entry in packages.items():
            old = merged.get(name)
            if entry.url is None and old is not None and old.sha256 == entry.sha256:
                entry = entry.model_copy(update={"url": old.url, "filename": old.filename or entry.filename})
            merged[name] = entry
        if merged == lock.packages:
            return False
        lock.packages = dict(sorted(merged.items()))
        return True

    update_lock(ws, change)


def record_dataset(ws: Workspace, name: str, files: dict[str, str], size: int) -> None:
    def change(lock: lockmod.Lockfile) -> bool:
        entry = lockmod.DatasetLock(files=dict(sorted(files.items())), bytes=size)
        if lock.datasets.get(name) == entry:
            return False
        lock.datasets = {**lock.datasets, name: entry}
        return True

    update_lock(ws, change)


__all__ = [
    "STEP_CODE",
    "code_inputs_hash",
    "data_inputs_hash",
    "locked_files",
    "record_dataset",
    "record_packages",
    "record_sources",
    "step_data",
    "update_lock",
]
