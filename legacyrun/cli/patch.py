"""Command: patch."""

from __future__ import annotations

import typer


def _patch_command(
    ctx: typer.Context,
    recipe: str = typer.Argument(..., help="Recipe name or path to a recipe YAML file.", show_default=False),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the unified diff; touch nothing."),
    revert: bool = typer.Option(False, "--revert", help="Return every source to its pinned commit."),
    list_: bool = typer.Option(False, "--list", help="List the recipe's patches and which apply."),
    gpus: str | None = typer.Option(None, "--gpus", help="GPU count (or device ids such as 0,1) to adapt to."),
    profile: str | None = typer.Option(None, "--profile", help="Profile whose pins select patches."),
    force: bool = typer.Option(False, "--force", help="Stash your uncommitted edits first (never lost)."),
    json: bool = typer.Option(False, "--json", help="Print machine-readable JSON on stdout."),
    workspace: str | None = typer.Option(None, "--workspace", "-w", help="Workspace directory."),
) -> None:
    """Apply the recipe's patches (and GPU-count adaptation) as commits on branch legacyrun/patched."""
    from pathlib import Path

    from legacyrun.cli import render
    from legacyrun.cli.options import options
    from legacyrun.cli.patch_render import show_outcome
    from legacyrun.errors import UsageError
    from legacyrun.share.registry import load
    from legacyrun.usecases.patch import parse_gpus, patch

    if ctx.args:  # the command accepts extra args for historical reasons; a typo must not pass silently
        raise UsageError(f"unexpected argument(s) for patch: {' '.join(ctx.args)}")
    opts = options(ctx, json=json, workspace=None if workspace is None else Path(workspace))
    loaded = load(recipe)
    outcome = patch(
        loaded,
        opts.workspace_for(loaded.recipe.name),
        profile=profile,
        gpus=parse_gpus(gpus),
        dry_run=dry_run,
        do_revert=revert,
        list_only=list_,
        force=force,
        progress=None if opts.quiet or opts.json else render.note,
    )
    show_outcome(outcome, json=opts.json)


def register(app: typer.Typer) -> None:
    app.command("patch", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(_patch_command)
