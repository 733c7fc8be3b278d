"""Command: build (the environment: docker image, conda prefix or venv)."""

from __future__ import annotations

from typing import Annotated

import typer

from legacyrun.cli import render
from legacyrun.cli.options import JsonOpt, RecipeArg, TrustOpt, WorkspaceOpt, options, require_trust
from legacyrun.errors import UsageError
from legacyrun.invocation import command


def register(app: typer.Typer) -> None:
    app.command("build")(build_cmd)


def _mirrors(values: list[str]) -> dict[str, str]:
    from legacyrun.fetch.mirrors import Mirrors

    return Mirrors.from_environment(values).as_mapping()


def build_cmd(
    ctx: typer.Context,
    recipe: RecipeArg,
    step: Annotated[
        str | None, typer.Argument(help="With --force: the one build step to rerun (default: every step).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Rerun the native build steps (or STEP) in the kept environment.")
    ] = False,
    backend: Annotated[
        str | None, typer.Option("--backend", "-b", help="docker, conda or venv (default: docker if it answers).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would be built; build nothing.")] = False,
    base_image: Annotated[
        str | None, typer.Option("--base-image", help="Docker base image instead of the resolved one.")
    ] = None,
    profile: Annotated[str | None, typer.Option("--profile", "-p", help="Profile (default: the locked one).")] = None,
    gpu: Annotated[str | None, typer.Option("--gpu", help="Plan for this GPU instead of the probed one.")] = None,
    driver: Annotated[str | None, typer.Option("--driver", help="Plan for this NVIDIA driver version.")] = None,
    cpu: Annotated[bool, typer.Option("--cpu", help="Plan a CPU-only environment.")] = False,
    mirror: Annotated[
        list[str] | None, typer.Option("--mirror", help="Rewrite a channel/index URL prefix: FROM=TO (repeatable).")
    ] = None,
    workspace: WorkspaceOpt = None,
    trust: TrustOpt = False,
    json: JsonOpt = False,
) -> None:
    """Build the environment from the resolved pins; a second build with the same inputs does nothing."""
    from legacyrun.share.registry import load
    from legacyrun.usecases.build import build

    opts = options(ctx, json=json, workspace=workspace)
    if gpu or driver or cpu:
        # Planning for another host is the resolver's job; build takes the pins it locked.
        given = [(f, v) for f, v in (("--gpu", gpu), ("--driver", driver)) if v]
        flags = " ".join(f for f, _ in given) + (" --cpu" if cpu else "")
        lock_args = [a for f, v in given for a in (f, str(v))] + (["--cpu"] if cpu else [])
        raise UsageError(
            f"build {flags.strip()}: plan the host with `{command('lock', recipe, *lock_args)}`, "
            f"then run `{command('build', recipe)}`"
        )
    if step is not None and not force:
        raise UsageError(
            f"build {recipe} {step}: a STEP is only taken with --force (`{command('build', recipe, '--force', step)}`)"
        )
    loaded = load(recipe)
    if not dry_run:
        require_trust(loaded, trust=trust)  # build steps and package installs run the recipe's commands
    ws = opts.workspace_for(loaded.recipe.name)
    quiet = opts.json or opts.quiet

    def progress(line: str) -> None:
        if not quiet:
            render.note(line)

    result = build(
        loaded,
        ws,
        profile=profile,
        base_image=base_image,
        mirrors=_mirrors(mirror or []),
        backend=backend,
        dry_run=dry_run,
        progress=progress,
        force=force,
        force_step=step,
    )
    if opts.json:
        render.emit_json(result.to_json())
        return
    render.line(f"backend: {result.backend} ({result.why})")
    if result.dry_run:
        render.line(f"would build env {result.rendered.env_id[:16]}:")
        for text in result.rendered.summary:
            render.line(f"  {text}")
        for name, text in sorted(result.rendered.files.items()):
            render.markup(f"[bold]--- {name}[/bold]")
            render.line(text.rstrip("\n"))
        return
    assert result.env is not None
    state = "up to date" if result.up_to_date else "built"
    render.line(f"{state}: {result.env.location} (env {result.env.id[:16]})")


__all__ = ["build_cmd", "register"]
