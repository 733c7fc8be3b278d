"""The `fetch` use case: code and/or data under the workspace lock."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from legacyrun.errors import ManualStepRequired
from legacyrun.fetch.code import fetch_code
from legacyrun.fetch.data import DataResult, fetch_data
from legacyrun.fetch.git import SourceResult
from legacyrun.fetch.http import HttpOptions
from legacyrun.fetch.mirrors import Mirrors
from legacyrun.fetch.progress import NullProgress, Progress
from legacyrun.workspace import Workspace

if TYPE_CHECKING:
    from legacyrun.recipe.loader import LoadedRecipe


@dataclass
class FetchReport:
    workspace: Path
    sources: list[SourceResult] = field(default_factory=list)
    datasets: list[DataResult] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "workspace": str(self.workspace),
            "sources": [
                {
                    "name": s.name,
                    "url": s.url,
                    "commit": s.commit,
                    "path": str(s.path),
                    "fetched_from": s.fetched_from,
                    "network": s.network,
                    "shallow": s.shallow,
                    "submodules": s.submodules,
                    "seconds": round(s.seconds, 3),
                }
                for s in self.sources
            ],
            "datasets": [
                {
                    "name": d.name,
                    "kind": d.kind,
                    "dest": str(d.dest),
                    "files": [{"name": f.name, "sha256": f.sha256, "bytes": f.bytes} for f in d.files],
                    "bytes": d.bytes,
                    "seconds": round(d.seconds, 3),
                    "url": d.url,
                    "network": d.network,
                    "skipped": d.skipped,
                    "resumed_from": d.resumed_from,
                    "placed": d.placed,
                    "post": d.post,
                    "warnings": d.warnings,
                }
                for d in self.datasets
            ],
        }


def fetch(
    loaded: LoadedRecipe,
    ws: Workspace,
    *,
    code: bool = True,
    data: bool = True,
    names: list[str] | None = None,
    from_path: Path | None = None,
    mirrors: Mirrors | None = None,
    progress: Progress | None = None,
    http: HttpOptions | None = None,
    wait: float = 0.0,
) -> FetchReport:
    """Fetch code then data while holding the workspace lock."""
    progress = progress or NullProgress()
    report = FetchReport(ws.root)
    ws.root.mkdir(parents=True, exist_ok=True)
    with ws.locked(wait=wait):
        if code:
            report.sources = fetch_code(loaded, ws, mirrors=mirrors, progress=progress)
        if data:
            try:
                report.datasets = fetch_data(
                    loaded, ws, names=names, from_path=from_path, mirrors=mirrors, progress=progress, http=http
                )
            except ManualStepRequired as exc:
                report.datasets = list(getattr(exc, "results", []))
                exc.report = report  # type: ignore[attr-defined]
                raise
    return report


__all__ = ["FetchReport", "fetch"]
