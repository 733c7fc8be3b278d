"""Commands: smoke list, smoke generate (tiny deterministic datasets in a real dataset's layout)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from legacyrun.cli.options import JsonOpt, options

smoke_app = typer.Typer(
    help="Smoke datasets: a few tiny samples in a real dataset's layout, to prove an environment in minutes.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def register(app: typer.Typer) -> None:
    smoke_app.command("list")(list_cmd)
    smoke_app.command("generate")(generate_cmd)
    app.add_typer(smoke_app, name="smoke")


def list_cmd(ctx: typer.Context, json: JsonOpt = False) -> None:
    """List the smoke generators: name, what each imitates, its options with their defaults."""
    from legacyrun.cli import render
    from legacyrun.smoke import generators

    opts = options(ctx, json=json)
    gens = generators()
    if opts.json:
        render.emit_json([g.to_dict() for g in gens.values()])
        return
    lines: list[str] = []
    for gen in gens.values():
        if lines:
            lines.append("")
        lines += [f"{gen.name}: {gen.imitates}", f"  {gen.summary}"]
        for opt in gen.options:
            default = str(opt.default).lower() if isinstance(opt.default, bool) else str(opt.default)
            extra = f" ({'|'.join(opt.choices)})" if opt.choices else ""
            lines.append(f"  {opt.name}={default}{extra}  {opt.help}")
    render.line("\n".join(lines))


def generate_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Generator name (see `legacyrun smoke list`).", show_default=False)],
    dest: Annotated[Path, typer.Argument(help="Directory to write (replaced only if it is a smoke output).")],
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", metavar="KEY=VALUE", help="A generator option, e.g. images=8 (repeatable)."),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Write a smoke dataset at DEST (atomically; a no-op when DEST already holds it with these options)."""
    from legacyrun.cli import render
    from legacyrun.smoke import generate, parse_option_args

    opts = options(ctx, json=json)
    result = generate(name, dest, parse_option_args(name, option or []))
    if opts.json:
        render.emit_json(result.to_dict())
        return
    state = "already there" if result.reused else "written"
    render.line(f"{result.generator}: {result.count} files {state} in {result.dest}")
    if not opts.quiet:
        render.note(f"sha256 {result.sha256}")


__all__ = ["register"]
