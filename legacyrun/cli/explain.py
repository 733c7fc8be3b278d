"""Command: explain (match a failure log against known signatures: cause and fix)."""

from __future__ import annotations

from typing import Annotated

import typer

from legacyrun.cli.options import JsonOpt, options

_DEFAULT_LIMIT = 5


def register(app: typer.Typer) -> None:
    app.command("explain")(_explain)


def _explain(
    ctx: typer.Context,
    log: Annotated[
        str, typer.Argument(metavar="LOG|-", help="Log file to explain, or - for standard input.", show_default=False)
    ],
    all_: Annotated[
        bool, typer.Option("--all", help="Show every match, catch-all signatures included (default: best 5).")
    ] = False,
    json: JsonOpt = False,
) -> None:
    """Explain a failure log: known failure, the line that shows it, its cause and a concrete fix.

    Exit status 0 when something matched, 1 when nothing did.
    """
    import sys

    from legacyrun.cli import render
    from legacyrun.diagnose import explain_chunks, explain_file, iter_blocks

    opts = options(ctx, json=json)
    limit = None if all_ else _DEFAULT_LIMIT
    if log == "-":
        matches = explain_chunks(iter_blocks(sys.stdin), limit=limit, include_generic=all_)
    else:
        matches = explain_file(log, limit=limit, include_generic=all_)
    if opts.json:
        render.emit_json([m.to_dict() for m in matches])
    elif not matches:
        render.note("no known failure signature matched this log")
    else:
        render.show_matches(matches)
    # SystemExit, not typer.Exit: with standalone_mode=False click returns an Exit's code instead of raising it,
    # and cli.main would turn that into status 0.
    raise SystemExit(0 if matches else 1)


__all__ = ["register"]
