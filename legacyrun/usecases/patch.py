"""The `patch` use case: pick the target, hold the workspace, plan, apply/revert/list, record.

The target comes from the workspace's legacyrun.lock resolution when there is one (and --profile does not name
another profile), else from the recipe profile's pins (see target.target_for_profile). After a real run the lock's
`patches` section (id -> content hash) and the workspace step record `patch` are updated.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from legacyrun import lock as lockfile
from legacyrun.errors import UsageError
from legacyrun.patching.adapt import AdaptPlan
from legacyrun.patching.engine import PatchResult, apply, list_patches, plan_patches, revert
from legacyrun.patching.target import Target, choose_target
from legacyrun.recipe.loader import LoadedRecipe
from legacyrun.workspace import Workspace

STEP = "patch"


@dataclass
class PatchOutcome:
    """What `legacyrun patch` did (or would do)."""

    action: str  # apply | dry-run | revert | list
    target: Target | None
    target_from: str  # "lock" or "recipe profile"
    result: PatchResult | None = None
    rows: list[dict[str, str]] = field(default_factory=list)
    adapt: AdaptPlan | None = None
    lock_updated: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "action": self.action,
            "target": None if self.target is None else self.target.__dict__,
            "target_from": self.target_from,
            "lock_updated": self.lock_updated,
        }
        if self.rows:
            data["patches"] = self.rows
        if self.result is not None:
            data["summary"] = self.result.summary()
            data["changes"] = self.result.changes
            data["already_applied"] = self.result.already
            data["series_hash"] = self.result.series_hash
            data["sources"] = [
                {
                    "source": s.source,
                    "path": str(s.path),
                    "pinned": s.pinned,
                    "head": s.head,
                    "applied": s.applied,
                    "already": s.already,
                    "skipped": [{"id": i, "why": w} for i, w in s.skipped],
                    "commits": s.commits,
                    "hashes": s.hashes,
                    "series_hash": s.series_hash,
                    "dirty": s.dirty,
                    "notes": s.notes,
                    "diff": s.diff,
                }
                for s in self.result.sources
            ]
        if self.adapt is not None:
            data["adapt"] = {
                "gpus": self.adapt.gpus,
                "reference_gpus": self.adapt.reference_gpus,
                "overrides": self.adapt.overrides,
                "rows": [r.__dict__ for r in self.adapt.rows],
            }
        return data


def parse_gpus(value: str | None) -> int | None:
    """--gpus N, or device ids such as '0,1,3' (their count)."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit() and "," not in text:
        count = int(text)
    else:
        ids = [p.strip() for p in text.split(",") if p.strip()]
        if not ids or not all(p.isdigit() for p in ids):
            raise UsageError(f"--gpus {value!r}: expected a GPU count or device ids such as 0,1")
        count = len(set(ids))
    if count < 1:
        raise UsageError("--gpus must be at least 1")
    return count


def record_result(ws: Workspace, loaded: LoadedRecipe, result: PatchResult) -> bool:
    """Write the lock's patches section (when a lock exists) and the workspace step record; True if the lock changed."""
    updated = False
    lock = lockfile.read_optional(ws.lockfile)
    if lock is not None and lock.recipe == loaded.recipe.name:
        hashes = {} if result.reverted else result.hashes
        if lock.patches != hashes:
            lockfile.write(ws.lockfile, lock.model_copy(update={"patches": hashes}))
            updated = True
    if result.reverted:
        ws.forget_step(STEP)
    else:
        outputs: dict[str, Any] = {
            "sources": {s.source: {"head": s.head, "series_hash": s.series_hash} for s in result.sources},
            "overrides": result.adapt.overrides if result.adapt is not None else {},
        }
        ws.record_step(STEP, result.series_hash, outputs)
    return updated


def patch(
    loaded: LoadedRecipe,
    ws: Workspace,
    *,
    profile: str | None = None,
    gpus: int | None = None,
    dry_run: bool = False,
    do_revert: bool = False,
    list_only: bool = False,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    hold_lock: bool = True,
) -> PatchOutcome:
    """The whole `legacyrun patch` command. `hold_lock=False` when the caller (e.g. `up`) holds the workspace lock."""
    if sum([do_revert, list_only]) > 1:
        raise UsageError("--revert and --list cannot be combined")
    target, origin = choose_target(loaded, ws, profile, gpus)
    if list_only:
        return PatchOutcome("list", target, origin, rows=list_patches(loaded, target))
    with ws.locked() if hold_lock else nullcontext():
        if do_revert:
            result = revert(loaded, ws, dry_run=dry_run, force=force)
            outcome = PatchOutcome("revert", None, origin, result=result)
        else:
            plan = plan_patches(loaded, ws, target)
            result = apply(plan, dry_run=dry_run, force=force, progress=progress)
            outcome = PatchOutcome("dry-run" if dry_run else "apply", target, origin, result=result, adapt=plan.adapt)
        if not dry_run:
            outcome.lock_updated = record_result(ws, loaded, result)
    return outcome


__all__ = ["STEP", "PatchOutcome", "parse_gpus", "patch", "record_result"]
