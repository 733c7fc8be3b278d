"""fetch_code: every source of a recipe at its pinned commit under `src/<name>`, recorded in lock and state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from legacyrun.fetch.git import SourceResult, fetch_source
from legacyrun.fetch.mirrors import Mirrors
from legacyrun.fetch.progress import NullProgress, Progress
from legacyrun.fetch.record import STEP_CODE, code_inputs_hash, record_sources
from legacyrun.workspace import Workspace

if TYPE_CHECKING:
    from legacyrun.recipe.loader import LoadedRecipe


def fetch_code(
    loaded: LoadedRecipe, ws: Workspace, *, mirrors: Mirrors | None = None, progress: Progress | None = None
) -> list[SourceResult]:
    """Check out each source at its commit (no network when the work tree or the mirror cache has it)."""
    mirrors = mirrors or Mirrors()
    progress = progress or NullProgress()
    results = []
    for source in loaded.recipe.sources:
        results.append(
            fetch_source(
                source.name,
                source.url,
                source.commit,
                ws.source_dir(source.name),
                submodules=source.submodules,
                mirrors=mirrors,
                progress=progress,
            )
        )
    commits = {r.name: r.commit for r in results}
    record_sources(ws, commits)
    ws.record_step(STEP_CODE, code_inputs_hash(loaded.recipe), {"commits": commits})
    return results


__all__ = ["fetch_code"]
