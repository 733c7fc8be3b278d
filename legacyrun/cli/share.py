"""Sharing recipes: `recipe add|sources|update|remove` (recipe sources), `recipe trust`, `recipe export`,
`recipe new --from-repo` (scaffold). Each command parses, calls one core function, renders."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from legacyrun.cli import render
from legacyrun.cli.options import JsonOpt, RecipeArg, WorkspaceOpt, options
from legacyrun.cli.recipes import recipe_app
from legacyrun.errors import TrustError, UsageError
from legacyrun.invocation import command


def register(app: typer.Typer) -> None:
    """Add the sharing commands to the `recipe` group (already attached to `app` by legacyrun.cli.recipes)."""
    del app  # the commands hang off recipe_app; the signature matches every other cli module
    recipe_app.command("add")(add_cmd)
    recipe_app.command("sources")(sources_cmd)
    recipe_app.command("update")(update_cmd)
    recipe_app.command("remove")(remove_cmd)
    recipe_app.command("trust")(trust_cmd)
    recipe_app.command("export")(export_cmd)
    recipe_app.command("new")(new_cmd)


def _source_rows(statuses: list[object]) -> list[list[str]]:
    from legacyrun.share.sources import SourceStatus

    rows = []
    for st in statuses:
        assert isinstance(st, SourceStatus)
        s = st.source
        rows.append(
            [s.name, s.kind, str(s.priority), s.location, (s.revision or "-")[:12], ", ".join(st.recipes) or "-"]
        )
    return rows


_SOURCE_COLUMNS = ["source", "kind", "priority", "location", "revision", "recipes"]


def add_cmd(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="git URL, http(s) URL of a .yaml or .tar.gz, or a local directory.")],
    name: Annotated[str | None, typer.Option("--name", help="Source name (default: from the URL).")] = None,
    priority: Annotated[int, typer.Option("--priority", help="Higher is searched first (default 0).")] = 0,
    kind: Annotated[
        str | None, typer.Option("--kind", help="Force the kind: git, http or dir (default: guessed).")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Register a recipe source and fetch it."""
    from typing import cast

    from legacyrun.share.sources import KINDS, SourceKind, add_source

    opts = options(ctx, json=json)
    if kind is not None and kind not in KINDS:
        raise UsageError(f"--kind must be one of: {', '.join(KINDS)} (got {kind!r})")
    status = add_source(source, name=name, priority=priority, kind=cast("SourceKind | None", kind))
    if opts.json:
        render.emit_json(status.to_json())
        return
    recipes = ", ".join(status.recipes) or "none"
    render.line(f"added recipe source {status.source.name} ({status.source.kind}): {recipes}")


def sources_cmd(ctx: typer.Context, json: JsonOpt = False) -> None:
    """List the recipe sources, highest priority first."""
    from legacyrun.share.sources import list_sources

    opts = options(ctx, json=json)
    statuses = list_sources()
    if opts.json:
        render.emit_json([s.to_json() for s in statuses])
        return
    if not statuses:
        render.note("no recipe sources; add one with `legacyrun recipe add SOURCE`")
        return
    render.show(render.table(None, _SOURCE_COLUMNS, _source_rows(list(statuses))))


def update_cmd(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Source to refresh (default: all).", show_default=False)] = None,
    json: JsonOpt = False,
) -> None:
    """Fetch git and http recipe sources again."""
    from legacyrun.share.sources import update_sources

    opts = options(ctx, json=json)
    statuses = update_sources(name)
    if opts.json:
        render.emit_json([s.to_json() for s in statuses])
        return
    for st in statuses:
        s = st.source
        if st.changed:
            render.line(f"{s.name}: updated {(st.previous_revision or '-')[:12]} -> {(s.revision or '-')[:12]}")
        else:
            render.line(f"{s.name}: up to date" + (" (local directory)" if s.kind == "dir" else ""))


def remove_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Source to remove.", show_default=False)],
    json: JsonOpt = False,
) -> None:
    """Unregister a recipe source (its fetched copy is deleted; a local directory is left alone)."""
    from dataclasses import asdict

    from legacyrun.share.sources import remove_source

    opts = options(ctx, json=json)
    src = remove_source(name)
    if opts.json:
        render.emit_json({"removed": asdict(src)})
        return
    render.line(f"removed recipe source {src.name}")


def trust_cmd(
    ctx: typer.Context,
    recipe: RecipeArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Record trust without asking.")] = False,
    revoke: Annotated[bool, typer.Option("--revoke", help="Forget an earlier approval.")] = False,
    show_only: Annotated[bool, typer.Option("--show", help="Only show the commands and the trust state.")] = False,
    json: JsonOpt = False,
) -> None:
    """Show the commands a recipe runs, then record that you trust them (by the recipe's content hash)."""
    from legacyrun.share.registry import load
    from legacyrun.share.trust import record_trust, revoke_trust, trust_status

    opts = options(ctx, json=json)
    loaded = load(recipe)
    if revoke:
        had = revoke_trust(loaded.recipe.name)
        if opts.json:
            render.emit_json({"recipe": loaded.recipe.name, "revoked": had})
        else:
            render.line(f"{loaded.recipe.name}: " + ("trust revoked" if had else "was not trusted"))
        return
    status = trust_status(loaded)
    if not opts.json:
        render.line(f"{status.recipe} ({status.origin}, hash {status.recipe_hash[:12]}) runs:")
        for line in status.commands or ["(no commands)"]:
            render.line(f"  {line}")
        for line in status.code:
            render.line(f"  {line}")
        if status.files:
            render.line("with these files (sha256, path), covered by the trust:")
            for line in status.files:
                render.line(f"  {line}")
    if not show_only and not status.trusted:
        if not yes:
            if not sys.stdin.isatty():
                raise TrustError(
                    f"recipe {status.recipe!r} not trusted: confirmation needs a terminal",
                    hint=f"pass --yes: {command('recipe trust', recipe, '--yes')}",
                )
            if not typer.confirm("Trust these commands?", default=False):
                raise TrustError(f"recipe {status.recipe!r} not trusted (declined)")
        record_trust(loaded)
        status = trust_status(loaded)
    if opts.json:
        render.emit_json(status.to_json())
        return
    state = "built-in (always trusted)" if status.builtin else "trusted" if status.trusted else "NOT trusted"
    render.line(f"{status.recipe}: {state}")


def export_cmd(
    ctx: typer.Context,
    recipe: RecipeArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="Bundle file to write (.tar.gz).")],
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Bundle the recipe, its patches and the workspace's legacyrun.lock / conda-lock.yml into one .tar.gz."""
    from legacyrun.share.bundle import export_bundle
    from legacyrun.share.registry import load

    opts = options(ctx, json=json, workspace=workspace)
    loaded = load(recipe)
    ws = opts.workspace_for(loaded.recipe.name).root
    result = export_bundle(loaded, output, workspace=ws)
    if opts.json:
        render.emit_json(result.to_json())
        return
    for note in result.notes:
        render.note(f"note: {note}")
    render.line(f"wrote {result.path} ({len(result.members)} files, sha256 {result.sha256[:12]})")
    for member in result.members:
        render.line(f"  {member}")


def new_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Name of the new recipe.", show_default=False)],
    from_repo: Annotated[str, typer.Option("--from-repo", help="Git URL of the project to read.")],
    commit: Annotated[str | None, typer.Option("--commit", help="Commit to pin (default: HEAD).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Recipe file (default: ./NAME.yaml).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    json: JsonOpt = False,
) -> None:
    """Scaffold a recipe from a git repository: pins, build steps, GPU adaptation, catalog patches, TODOs."""
    from legacyrun.fsutil import atomic_write_text
    from legacyrun.share.scaffold import scaffold_recipe

    opts = options(ctx, json=json)
    target = output if output is not None else Path(f"{name}.yaml")
    if target.exists() and not force:
        raise UsageError(f"{target} exists; pass --force to overwrite it or -o to write elsewhere")
    result = scaffold_recipe(name, from_repo, commit=commit)
    atomic_write_text(target, result.text)
    if opts.json:
        render.emit_json({**result.to_json(), "path": str(target)})
        return
    for note in result.notes:
        render.note(note)
    render.line(f"wrote {target} (validates; {sum(n.startswith('TODO') for n in result.notes)} TODO lines)")


__all__ = ["register"]
