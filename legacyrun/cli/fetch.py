"""Command: fetch (code at pinned commits, datasets verified), with a rich progress bar on stderr."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from legacyrun.cli import render
from legacyrun.cli.options import JsonOpt, RecipeArg, TrustOpt, WorkspaceOpt, options, require_trust

if TYPE_CHECKING:
    from legacyrun.usecases.fetch import FetchReport


def register(app: typer.Typer) -> None:
    app.command("fetch")(fetch_cmd)


def _human(report: FetchReport) -> None:
    from legacyrun.recipe.summary import human_size

    for s in report.sources:
        how = f"from {s.fetched_from}" + (" (shallow)" if s.shallow else "") if s.network else "already present"
        render.line(f"code  {s.name} @ {s.commit[:12]}: {how} -> {s.path}")
    for d in report.datasets:
        how = "already in place" if d.skipped else f"from {d.url}" if d.network else "from the cache"
        render.line(f"data  {d.name}: {human_size(d.bytes)} {how} -> {d.dest}")
        for f in d.files:
            render.line(f"        {f.name}  sha256 {f.sha256}")
        for w in d.warnings:
            render.note(f"warning: {w}")


def fetch_cmd(
    ctx: typer.Context,
    recipe: RecipeArg,
    names: Annotated[
        list[str] | None, typer.Argument(help="Dataset names (implies --data); default: every non-optional one.")
    ] = None,
    code: Annotated[bool, typer.Option("--code", help="Fetch the sources (default: code and data).")] = False,
    data: Annotated[bool, typer.Option("--data", help="Fetch datasets (the named ones, or all).")] = False,
    from_path: Annotated[
        Path | None,
        typer.Option(
            "--from", help="Adopt a file you downloaded by hand (one dataset); an archive is extracted like a download."
        ),
    ] = None,
    mirror: Annotated[
        list[str] | None, typer.Option("--mirror", help="Rewrite a URL prefix: FROM=TO (repeatable).")
    ] = None,
    workspace: WorkspaceOpt = None,
    trust: TrustOpt = False,
    json: JsonOpt = False,
) -> None:
    """Fetch the recipe's code at its pinned commits and its datasets, verified by sha256."""
    from legacyrun.fetch.mirrors import Mirrors
    from legacyrun.fetch.progress import NullProgress
    from legacyrun.share.registry import load
    from legacyrun.usecases.fetch import fetch

    opts = options(ctx, json=json, workspace=workspace)
    loaded = load(recipe)
    ws = opts.workspace_for(loaded.recipe.name)
    wants_data = data or bool(names) or from_path is not None
    if (wants_data or not code) and any(step.run for ds in loaded.recipe.datasets for step in ds.post):
        require_trust(loaded, trust=trust)  # dataset post steps run commands
    mirrors = Mirrors.from_environment(mirror or [])
    kwargs: dict[str, Any] = {
        "code": code or not wants_data,
        "data": wants_data or not code,
        "names": names or None,
        "from_path": from_path,
        "mirrors": mirrors,
    }
    if opts.json or opts.quiet:
        report = fetch(loaded, ws, progress=NullProgress(), **kwargs)
    else:
        with render.RichProgress() as bars:
            report = fetch(loaded, ws, progress=bars, **kwargs)
    if opts.json:
        render.emit_json(report.to_json())
    else:
        _human(report)


__all__ = ["fetch_cmd", "register"]
