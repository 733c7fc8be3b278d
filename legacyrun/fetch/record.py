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


def known_dataset(ws: Workspace, dataset: Dataset) -> lockmod.DatasetLock:
    """What an earlier fetch recorded for a dataset: the lock's entry, else (no lock, or no entry in it) the
    workspace's step record of the same recipe entry, so a first-use sha256 binds later fetches also without a lock
    (empty when nothing was recorded)."""
    lock = lockmod.read_optional(ws.lockfile)
    if lock is not None and dataset.name in lock.datasets:
        return lock.datasets[dataset.name]
    rec = ws.step_record(step_data(dataset.name))
    if rec is None or rec.get("inputs_hash") != data_inputs_hash(dataset):
        return lockmod.DatasetLock()
    out: dict[str, Any] = rec.get("outputs") or {}
    try:
        return lockmod.DatasetLock.model_validate(
            {"files": out.get("files") or {}, "bytes": out.get("bytes"), "unverified": out.get("unverified") or {}}
        )
    except ValueError:
        return lockmod.DatasetLock()  # a damaged record binds nothing; the lock, when there is one, still does


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


def record_dataset(
    ws: Workspace,
    name: str,
    files: dict[str, str],
    size: int,
    unverified: dict[str, lockmod.DownloadOrigin] | None = None,
) -> None:
    def change(lock: lockmod.Lockfile) -> bool:
        entry = lockmod.DatasetLock(
            files=dict(sorted(files.items())), bytes=size, unverified=dict(sorted((unverified or {}).items()))
        )
        if lock.datasets.get(name) == entry:
            return False
        lock.datasets = {**lock.datasets, name: entry}
        return True

    update_lock(ws, change)


__all__ = [
    "STEP_CODE",
    "code_inputs_hash",
    "data_inputs_hash",
    "known_dataset",
    "locked_files",
    "record_dataset",
    "record_packages",
    "record_sources",
    "step_data",
    "update_lock",
]
