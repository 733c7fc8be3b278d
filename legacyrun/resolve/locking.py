"""Writing and checking <workspace>/legacyrun.lock from a resolution.

Sections other steps own (sources, datasets, patches, environment) survive a re-lock when they are still valid:
all of them when the recipe hash and the pins are unchanged; sources and datasets when only the pins changed
(they depend on the recipe, not on the environment); none when the recipe changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from legacyrun.errors import LockError
from legacyrun.invocation import command
from legacyrun.lock import Lockfile, read, read_optional, write
from legacyrun.recipe.loader import LoadedRecipe
from legacyrun.resolution import HostInfo, Resolution
from legacyrun.resolve.engine import resolve
from legacyrun.workspace import Workspace

OTHER_SECTIONS = ("sources", "packages", "datasets", "patches", "environment")
RECIPE_BOUND = ("sources", "packages", "datasets")


def stable_host(host: HostInfo) -> HostInfo:
    """The host as recorded in a lock: without values that change between runs (free disk, probe remarks) or name
    one machine's devices (index, UUID: which of the GPUs a run uses is the run's choice, recorded in provenance)."""
    gpus = [g.model_copy(update={"index": None, "uuid": None}) for g in host.gpus]
    return host.model_copy(update={"free_disk_bytes": None, "notes": [], "gpus": gpus})


def for_lock(resolution: Resolution) -> Resolution:
    return resolution.model_copy(update={"host": stable_host(resolution.host)})


def pins_of(resolution: Resolution) -> dict[str, Any]:
    """What a lock guarantees: every resolved value except the host record and the explanatory reasons."""
    return resolution.model_dump(mode="json", exclude={"host", "reasons"})


@dataclass
class LockResult:
    """Outcome of `lock`: where, what was kept from the previous lock, whether anything changed."""

    path: Path
    lock: Lockfile
    changed: bool
    kept: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    previous_hash: str | None = None

    def to_json(self) -> dict[str, Any]:
        """`legacyrun lock --json`'s result."""
        return {
            "path": str(self.path),
            "changed": self.changed,
            "kept": self.kept,
            "dropped": self.dropped,
            "resolution": self.lock.resolution.to_json(),
        }


def _has(lock: Lockfile, section: str) -> bool:
    return bool(getattr(lock, section))


def merge_lock(loaded: LoadedRecipe, resolution: Resolution, previous: Lockfile | None) -> LockResult:
    """The new lockfile content (nothing written).

    Entries other steps wrote survive when they still describe the recipe: every section when recipe and pins are
    unchanged; after a recipe edit, each source whose commit is unchanged and each dataset that is still in the
    recipe (with the same sha256 when one is declared); with unchanged pins also the patches that still exist and
    the environment (`up` re-checks the environment against its backend and rewrites both when they changed).
    """
    res = for_lock(resolution)
    fresh = Lockfile(recipe=loaded.recipe.name, recipe_hash=loaded.hash, resolution=res)
    result = LockResult(path=Path(), lock=fresh, changed=True)
    if previous is None:
        return result
    result.previous_hash = previous.recipe_hash
    same_recipe = previous.recipe_hash == loaded.hash
    same_pins = pins_of(previous.resolution) == pins_of(res)
    recipe = loaded.recipe
    if same_recipe and same_pins:
        update: dict[str, Any] = {s: getattr(previous, s) for s in OTHER_SECTIONS}
    else:
        commits = {s.name: s.commit for s in recipe.sources if s.commit is not None}
        # A package source's commit is a function of its file: kept while the recipe pins the same sha256.
        files = {s.name: s.pypi.sha256 for s in recipe.sources if s.pypi is not None}
        kept_packages = {k: v for k, v in previous.packages.items() if files.get(k) == v.sha256}
        commits.update({k: previous.sources[k] for k in kept_packages if k in previous.sources})
        declared = {d.name: d.sha256 for d in recipe.datasets}
        patch_ids = {p.id for p in recipe.patches}
        update = {
            "sources": {k: v for k, v in previous.sources.items() if commits.get(k) == v},
            "packages": kept_packages,
            "datasets": {
                k: v
                for k, v in previous.datasets.items()
                if k in declared and (declared[k] is None or declared[k] in v.files.values())
            },
            "patches": {k: v for k, v in previous.patches.items() if same_pins and _patch_kept(k, patch_ids)},
            "environment": previous.environment if same_pins else None,
        }
    result.lock = fresh.model_copy(update=update)
    result.kept = [s for s in OTHER_SECTIONS if update.get(s)]
    result.dropped = [s for s in OTHER_SECTIONS if _has(previous, s) and getattr(previous, s) != update.get(s)]
    result.changed = result.lock != previous
    return result


def _patch_kept(lock_id: str, patch_ids: set[str]) -> bool:
    """A lock patch entry is a recipe patch id, or an adaptation entry (kept: the patch step rewrites it)."""
    return lock_id in patch_ids or lock_id.startswith("adapt")


def write_lock(loaded: LoadedRecipe, resolution: Resolution, workspace: Workspace) -> LockResult:
    """Write <workspace>/legacyrun.lock (atomically, under the workspace lock); unchanged content is not rewritten."""
    workspace.root.mkdir(parents=True, exist_ok=True)
    with workspace.locked():
        previous = read_optional(workspace.lockfile)
        result = merge_lock(loaded, resolution, previous)
        result.path = workspace.lockfile
        if result.changed:
            write(workspace.lockfile, result.lock)
    return result


@dataclass
class LockCheck:
    path: Path
    lock: Lockfile
    resolution: Resolution

    def to_json(self) -> dict[str, Any]:
        """`legacyrun lock --check --json`'s result (a lock that is not current is a LockError instead)."""
        return {"path": str(self.path), "current": True, "profile": self.lock.resolution.profile}


def check_lock(
    loaded: LoadedRecipe,
    workspace: Workspace,
    *,
    host: HostInfo | None = None,
    pins: Mapping[str, str] | None = None,
) -> LockCheck:
    """LockError when the lock is missing, the recipe changed since, or the pins no longer resolve the same way.

    The pins are re-resolved for `host`, or for the host recorded in the lock (so a laptop can check a lock made
    for a GPU server), with the profile the lock holds and `pins` (--pin), or the --pin values the lock records;
    a lock made with other --pin values is not current.
    """

    path = workspace.lockfile
    lock = read(path)
    if lock.recipe_hash != loaded.hash:
        raise LockError(
            f"{path}: recipe {loaded.recipe.name} changed since the lock was written "
            f"(hash {lock.recipe_hash[:12]} -> {loaded.hash[:12]})",
            hint=f"run `{command('lock', loaded.recipe.name)}` to update the lock",
        )
    wanted = lock.resolution.pins if pins is None else pins
    fresh = resolve(loaded, host or lock.resolution.host, profile=lock.resolution.profile, pins=wanted)
    old, new = pins_of(lock.resolution), pins_of(fresh)
    if old != new:
        diff = ", ".join(f"{k} {old[k]} -> {new[k]}" for k in sorted(old) if old[k] != new.get(k))
        raise LockError(
            f"{path}: the pins no longer resolve the same way ({diff})",
            hint=f"run `{command('lock', loaded.recipe.name)}`",
        )
    return LockCheck(path=path, lock=lock, resolution=fresh)


__all__ = ["LockCheck", "LockResult", "check_lock", "for_lock", "merge_lock", "pins_of", "stable_host", "write_lock"]
