"""Command: scan - every catalog finding in any repository (recipes not needed); in a workspace's source tree (or
with --recipe) each finding also says whether the recipe's patches apply it for the target."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from legacyrun.cli.options import JsonOpt, Options, WorkspaceOpt, options

if TYPE_CHECKING:
    from legacyrun.patching.scope import ScanReport
    from legacyrun.recipe.loader import LoadedRecipe
    from legacyrun.workspace import Workspace


def register(app: typer.Typer) -> None:
    app.command("scan")(_scan)


def _scan(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Repository directory (or one file) to scan.", show_default=False)],
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            help="Stack to check against, e.g. torch=2.1,python=3.10,cuda=12.1 (default: forward rules, any version; "
            "with a recipe: the versions `legacyrun patch` uses).",
        ),
    ] = None,
    rule: Annotated[
        list[str] | None, typer.Option("--rule", help="Only this rule id or set:<name> (repeatable).")
    ] = None,
    recipe: Annotated[
        str | None,
        typer.Option(
            "--recipe",
            help="Judge findings against this recipe's catalog patches (found by itself when PATH is in a "
            "workspace's src/).",
        ),
    ] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """List legacy-API sites: file:line, rule, what breaks since when, the fix, and whether patch can apply it."""
    from legacyrun.cli import render
    from legacyrun.errors import PatchError, UsageError
    from legacyrun.patching.catalog import TargetVersions, expand_rule_ids
    from legacyrun.patching.scope import scan_report

    opts = options(ctx, json=json, workspace=workspace)
    if not path.exists():
        raise UsageError(f"{path}: no such file or directory")
    tv = TargetVersions.parse(target) if target else None
    try:
        expand_rule_ids(list(rule or []))
    except PatchError as exc:
        raise UsageError(exc.message, hint=exc.hint) from exc
    loaded, ws, notes = _recipe_for(path, recipe, opts)
    report = scan_report(path, target=tv, rule_ids=list(rule) if rule else None, loaded=loaded, ws=ws, notes=notes)
    if opts.json:
        render.emit_json(_as_json(report))
        return
    _human(report, quiet=opts.quiet)


def _recipe_for(path: Path, spec: str | None, opts: Options) -> tuple[LoadedRecipe | None, Workspace | None, list[str]]:
    """The recipe and workspace to judge findings by: --recipe, else the workspace whose src/ holds PATH."""
    from legacyrun.errors import LegacyrunError
    from legacyrun.patching.scope import find_workspace
    from legacyrun.share.registry import load

    found = find_workspace(path)
    if spec is not None:
        loaded = load(spec)
        if opts.workspace is None and found is not None and found[1] == loaded.recipe.name:
            return loaded, found[0], []
        return loaded, opts.workspace_for(loaded.recipe.name), []
    if found is None:
        return None, None, []
    ws, name = found
    try:
        return load(name), ws, []
    except LegacyrunError:
        # The lock names a recipe that is not installed here (a recipe file elsewhere): scan without it.
        return None, None, [f"{path} is in a workspace of recipe {name}, which was not found; --recipe FILE names it"]


def _tag(report: ScanReport, i: int) -> str:
    from legacyrun.patching import scope as sc

    f = report.findings[i]
    if report.scope is None:
        return "auto" if f.auto_fixable else "manual"
    v = report.verdicts[i]
    if v.kind == sc.AUTO:
        return f"auto, patch {v.patch}"
    if v.kind == sc.NOT_SELECTED:
        return f"not selected for this target: patch {v.patch}"
    if v.kind == sc.OUTSIDE:
        return "outside the recipe's rules"
    return "manual"


def _as_json(report: ScanReport) -> dict[str, Any]:
    findings = []
    for i, f in enumerate(report.findings):
        item = f.as_dict()
        if report.scope is not None:
            item["recipe"] = {"verdict": report.verdicts[i].kind, "patch": report.verdicts[i].patch}
        findings.append(item)
    data: dict[str, Any] = {
        "path": str(report.path),
        "target": report.target.as_dict() if report.target else None,
        "findings": findings,
        "summary": report.counts(),
    }
    if report.scope is not None:
        data["recipe"] = {
            "name": report.scope.recipe,
            "source": report.scope.source,
            "profile": report.scope.target.profile,
            "target_from": report.scope.target_from,
        }
    if report.notes:
        data["notes"] = report.notes
    return data


def _human(report: ScanReport, *, quiet: bool) -> None:
    from legacyrun.cli import render

    for note in report.notes:
        render.note(note)
    lines = []
    for i, f in enumerate(report.findings):
        lines += [
            f"{f.path}:{f.line}:{f.column}: {f.rule_id} [{_tag(report, i)}]",
            f"    {f.excerpt}",
            f"    breaks: {f.what_breaks} (since {f.broke_in})",
            f"    fix: {f.fix}",
        ]
    if lines:
        # One write: tens of thousands of findings would otherwise cost a console call each.
        render.line("\n".join(lines))
    if quiet and report.findings:
        return
    c = report.counts()
    text = f"{c['findings']} findings in {c['files']} files, {c['auto_fixable']} auto-fixable by `legacyrun patch`"
    if report.scope is not None:
        scope = report.scope
        text += (
            f" (recipe {scope.recipe}, {scope.describe_target()}); {c['not_selected']} not selected for this target,"
            f" {c['outside_recipe']} outside the recipe's rules"
        )
    render.note(text)


__all__ = ["register"]
