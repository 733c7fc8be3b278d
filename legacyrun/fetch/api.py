"""One call for the `fetch` command: code and/or data under the workspace lock."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

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
