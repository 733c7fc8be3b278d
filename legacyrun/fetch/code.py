"""fetch_code: every source of a recipe under `src/<name>` (a git commit, or a package release made into a git
work tree at its pristine commit), recorded in lock and state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from legacyrun.fetch.git import SourceResult, fetch_source
from legacyrun.fetch.mirrors import Mirrors
from legacyrun.fetch.progress import NullProgress, Progress
from legacyrun.fetch.pypi import fetch_pypi_source
from legacyrun.fetch.record import STEP_CODE, code_inputs_hash, record_packages, record_sources
from legacyrun.lock import PackageLock
from legacyrun.workspace import Workspace

if TYPE_CHECKING:
    from legacyrun.recipe.loader import LoadedRecipe


def fetch_code(
    loaded: LoadedRecipe, ws: Workspace, *, mirrors: Mirrors | None = None, progress: Progress | None = None
) -> list[SourceResult]:
    """Check out each source at its commit (no network when the work tree or a cache has it)."""
    mirrors = mirrors or Mirrors()
    progress = progress or NullProgress()
    results = []
    packages: dict[str, PackageLock] = {}
    for source in loaded.recipe.sources:
        if source.pypi is not None:
            got = fetch_pypi_source(
                source.name, source.pypi, ws.source_dir(source.name), mirrors=mirrors, progress=progress
            )
            # The URL is known only when the index was asked; a cache hit keeps what the lock has.
            packages[source.name] = PackageLock(
                name=source.pypi.name,
                version=source.pypi.version,
                kind=source.pypi.kind,
                url=got.url or None,
                filename=got.filename or None,
                sha256=got.sha256,
            )
            results.append(
                SourceResult(
                    source.name, got.url or source.origin, got.commit, got.path, got.url or None, False, [], got.seconds
                )
            )
            continue
        assert source.url is not None and source.commit is not None  # a git source (model validator)
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
    if packages:
        record_packages(ws, packages)
    ws.record_step(STEP_CODE, code_inputs_hash(loaded.recipe), {"commits": commits})
    return results


__all__ = ["fetch_code"]
