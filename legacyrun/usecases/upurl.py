"""The `up URL` use case: a repository without a recipe is scaffolded into the workspace (or the recipe an
earlier `up URL` left there is kept), then `up`'s chain runs; a failure becomes located decisions (exit 13), and
under --smoke a failure with a known fix is first fixed in recipe.yaml and the chain retried (`legacyrun.infer`).

Apart from `usecases/up.py` because it reads repositories (the scaffold, the catalog, explain): a plain `up` of a
recipe loads none of that.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from legacyrun.errors import Interrupted, LegacyrunError, RunError
from legacyrun.fetch.mirrors import Mirrors
from legacyrun.infer.up import (
    failure_log,
    recipe_name,
    repository_url,
    scaffold_into,
    stop_with_todos,
    try_known_fix,
)
from legacyrun.recipe.loader import LoadedRecipe
from legacyrun.run.steps import StepOutcome
from legacyrun.share.registry import load
from legacyrun.usecases.up import UpRequest, UpResult, up
from legacyrun.workspace import Workspace


def up_url(
    ref: str,
    request: Callable[[LoadedRecipe, Workspace], UpRequest],
    *,
    workspace_for: Callable[[str], Workspace],
    approve: Callable[[LoadedRecipe], None],
    mirror_values: list[str] | None = None,
    on_scaffolded: Callable[[Path, Any], None] | None = None,
    on_note: Callable[[str], None] | None = None,
    on_step: Callable[[StepOutcome], None] | None = None,
    on_start: Callable[[str], None] | None = None,
    on_line: Callable[[str], None] | None = None,
    progress: Callable[[], AbstractContextManager[Any]] | None = None,
) -> UpResult:
    """`legacyrun up URL`: a repository without a recipe (a git URL or a local repository) scaffolded into the
    workspace (or the recipe an earlier `up URL` scaffolded there, kept), then the chain of `usecases.up.up`.

    `request` makes the UpRequest for the loaded recipe and its workspace (`workspace_for` maps a recipe name to
    it), `approve` is the trust check before anything runs the recipe's commands; `progress` makes the progress
    display for one pass of the chain (started after the scaffold and the trust question). For a scaffolded
    recipe a failure becomes TodosRemain (exit 13) with located decisions; under --smoke a failure with a known
    fix is first fixed in recipe.yaml and the chain retried (`legacyrun.infer.up`).
    """

    scaffolded = _scaffold(ref, workspace_for, list(mirror_values or []), on_scaffolded)
    loaded = load(str(scaffolded[0]))
    approve(loaded)
    ws = workspace_for(loaded.recipe.name)
    req = request(loaded, ws)
    started = time.monotonic()
    fixes: list[str] = []
    while True:
        try:
            with progress() if progress is not None else nullcontext(None) as bars:
                result = up(req, on_step=on_step, on_start=on_start, on_line=on_line, progress=bars)
        except LegacyrunError as exc:
            if isinstance(exc, Interrupted):
                raise
            if req.smoke and _fixed(scaffolded, req, exc, None, fixes, on_note):
                req = dataclasses.replace(req, loaded=load(str(scaffolded[0])))
                continue

            log = failure_log(req.ws, exc, None)
            source = loaded.recipe.sources[0].name
            raise stop_with_todos(scaffolded[0], scaffolded[1], source, exc, fixes, log) from exc
        if result.exit_code != 0:
            if req.smoke and _fixed(scaffolded, req, None, result, fixes, on_note):
                req = dataclasses.replace(req, loaded=load(str(scaffolded[0])))
                continue

            cause = RunError(f"the task exited with {result.exit_code}")
            if result.run is not None:
                cause = RunError(f"the task exited with {result.run.exit_code}; log {result.run.log_path}")
            log = failure_log(req.ws, None, result)
            raise stop_with_todos(scaffolded[0], scaffolded[1], loaded.recipe.sources[0].name, cause, fixes, log)
        break
    result.seconds = time.monotonic() - started
    result.fixes = fixes
    return result


def _fixed(
    scaffolded: tuple[Path, Any],
    req: UpRequest,
    exc: LegacyrunError | None,
    result: UpResult | None,
    fixes: list[str],
    on_note: Callable[[str], None] | None,
) -> bool:
    """`up URL --smoke`: a known fix for the failure was applied to recipe.yaml (said through on_note)."""

    desc = try_known_fix(scaffolded[0], req.ws, req.loaded.recipe.sources[0].name, exc, result, fixes)
    if desc is not None and on_note is not None:
        on_note(f"known fix {len(fixes)}: {desc}; running the chain again")
    return desc is not None


def _scaffold(
    ref: str,
    workspace_for: Callable[[str], Workspace],
    mirror_values: list[str],
    on_scaffolded: Callable[[Path, Any], None] | None,
) -> tuple[Path, Any]:
    """The recipe scaffolded into the workspace (or kept from an earlier `up URL`), and the scaffold's result."""
    ws = workspace_for(recipe_name(repository_url(ref)))
    path, result = scaffold_into(ref, ws.root, Mirrors.from_environment(mirror_values))
    if on_scaffolded is not None:
        on_scaffolded(path, result)
    return path, result


__all__ = ["up_url"]
