"""Command: scan - every catalog finding in any repository (recipes not needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from legacyrun.cli.context import JsonOpt, options


def register(app: typer.Typer) -> None:
    app.command("scan")(_scan)


def _scan(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Repository directory (or one file) to scan.", show_default=False)],
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            help="Stack to check against, e.g. torch=2.1,python=3.10,cuda=12.1 (default: forward rules, any version).",
        ),
    ] = None,
    rule: Annotated[
        list[str] | None, typer.Option("--rule", help="Only this rule id or set:<name> (repeatable).")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """List legacy-API sites: file:line, rule, what breaks since when, the fix, and whether patch can apply it."""
    from legacyrun.cli import render
    from legacyrun.errors import PatchError, UsageError
    from legacyrun.patching.catalog import TargetVersions, expand_rule_ids, scan

    opts = options(ctx, json=json)
    if not path.exists():
        raise UsageError(f"{path}: no such file or directory")
    tv = TargetVersions.parse(target) if target else None
    try:
        expand_rule_ids(list(rule or []))
    except PatchError as exc:
        raise UsageError(exc.message, hint=exc.hint) from exc
    findings = scan(path, tv, rule_ids=list(rule) if rule else None)
    auto = sum(f.auto_fixable for f in findings)
    files = len({f.path for f in findings})
    if opts.json:
        render.emit_json(
            {
                "path": str(path),
                "target": tv.as_dict() if tv else None,
                "findings": [f.as_dict() for f in findings],
                "summary": {"findings": len(findings), "auto_fixable": auto, "files": files},
            }
        )
        return
    lines = []
    for f in findings:
        tag = "auto" if f.auto_fixable else "manual"
        lines += [
            f"{f.path}:{f.line}:{f.column}: {f.rule_id} [{tag}]",
            f"    {f.excerpt}",
            f"    breaks: {f.what_breaks} (since {f.broke_in})",
            f"    fix: {f.fix}",
        ]
    if lines:
        # One write: tens of thousands of findings would otherwise cost a console call each.
        render.line("\n".join(lines))
    if not opts.quiet or not findings:
        render.note(f"{len(findings)} findings in {files} files, {auto} auto-fixable by `legacyrun patch`")


__all__ = ["register"]
