"""Command: fetch (code at pinned commits, datasets verified), with a rich progress bar on stderr."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from legacyrun.cli import render
from legacyrun.cli.context import JsonOpt, RecipeArg, WorkspaceOpt, options
from legacyrun.cli.share import TrustOpt, require_trust

if TYPE_CHECKING:
    from rich.progress import Progress as RichBars
    from rich.progress import TaskID

    from legacyrun.fetch.api import FetchReport


def register(app: typer.Typer) -> None:
    app.command("fetch")(fetch_cmd)


class RichProgress:
    """legacyrun.fetch.progress.Progress drawn as rich bars (size, speed, ETA) on stderr."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.bars: RichBars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=render.err(),
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self.bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bars.stop()

    def start(self, key: str, description: str, total: int | None) -> None:
        if key in self.tasks:
            self.bars.update(self.tasks[key], description=description, total=total)
        else:
            self.tasks[key] = self.bars.add_task(description, total=total)

    def update(self, key: str, completed: int, total: int | None = None) -> None:
        if key not in self.tasks:
            self.start(key, key, total)
        if total is not None:
            self.bars.update(self.tasks[key], completed=completed, total=total)
        else:
            self.bars.update(self.tasks[key], completed=completed)

    def finish(self, key: str) -> None:
        if key in self.tasks:
            self.bars.stop_task(self.tasks[key])

    def note(self, text: str) -> None:
        self.bars.console.print(text, style="dim", markup=False, highlight=False)


def _as_json(report: FetchReport) -> dict[str, Any]:
    return {
        "workspace": str(report.workspace),
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
            for s in report.sources
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
            for d in report.datasets
        ],
    }


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
    from legacyrun.fetch.api import fetch
    from legacyrun.fetch.mirrors import Mirrors
    from legacyrun.fetch.progress import NullProgress
    from legacyrun.share.registry import load

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
        with RichProgress() as bars:
            report = fetch(loaded, ws, progress=bars, **kwargs)
    if opts.json:
        render.emit_json(_as_json(report))
    else:
        _human(report)


__all__ = ["RichProgress", "fetch_cmd", "register"]
