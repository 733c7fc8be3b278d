"""The `status` use case: what a workspace holds, read-only, without the network."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from legacyrun.errors import LockError
from legacyrun.fetch.presence import dataset_present
from legacyrun.lock import read_optional
from legacyrun.recipe.loader import LoadedRecipe
from legacyrun.run.provenance import read_runs
from legacyrun.smoke.core import MARKER
from legacyrun.usecases.run import smoke_entries
from legacyrun.workspace import Workspace


@dataclass
class StatusReport:
    """What a workspace holds: lock, fetched sources and data, patches, environment, recent runs."""

    recipe: str
    workspace: Path
    exists: bool
    lock: dict[str, Any] | None
    lock_current: bool | None
    sources: list[dict[str, Any]] = field(default_factory=list)
    datasets: list[dict[str, Any]] = field(default_factory=list)
    patches: dict[str, str] = field(default_factory=dict)
    environment: dict[str, Any] | None = None
    steps: dict[str, Any] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    smoke: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe,
            "workspace": str(self.workspace),
            "exists": self.exists,
            "lock": self.lock,
            "lock_current": self.lock_current,
            "sources": self.sources,
            "datasets": self.datasets,
            "patches": self.patches,
            "environment": self.environment,
            "steps": self.steps,
            "runs": self.runs,
            "smoke": self.smoke,
        }


def status(loaded: LoadedRecipe, ws: Workspace, *, runs: int = 5) -> StatusReport:
    """Read-only summary of a workspace; never touches the network."""

    try:
        lock = read_optional(ws.lockfile)
    except LockError:
        lock = None
    report = StatusReport(
        recipe=loaded.recipe.name,
        workspace=ws.root,
        exists=ws.root.is_dir(),
        lock={"profile": lock.resolution.profile, "torch": lock.resolution.torch, "cuda": lock.resolution.cuda}
        if lock
        else None,
        lock_current=(lock.recipe_hash == loaded.hash) if lock else None,
    )
    for src in loaded.recipe.sources:
        path = ws.source_dir(src.name)
        report.sources.append(
            {
                "name": src.name,
                "commit": src.commit,
                "fetched": (path / ".git").exists(),
                "locked": lock.sources.get(src.name) if lock else None,
            }
        )

    for ds in loaded.recipe.datasets:
        report.datasets.append(
            {
                "name": ds.name,
                "kind": ds.kind,
                # Per dataset (its own fetch record against the disk): two datasets may share a folder.
                "present": dataset_present(ws, ds),
                "files": dict(lock.datasets[ds.name].files) if lock and ds.name in lock.datasets else {},
            }
        )
    if lock:
        report.patches = dict(lock.patches)
        report.environment = lock.environment.model_dump(mode="json") if lock.environment else None

    report.smoke = [
        {"generator": d.generator, "dest": f"smoke/{d.dest}", "present": (dest / MARKER).is_file()}
        for d, dest in smoke_entries(loaded, ws, None)
    ]
    report.steps = {k: v for k, v in ws.read_state().items() if isinstance(v, dict)}
    report.runs = [
        {k: r.get(k) for k in ("run_id", "task", "start", "end", "exit_code", "seconds")}
        for r in read_runs(ws.runs, limit=runs)
    ]
    return report


__all__ = ["StatusReport", "status"]
