"""`list`, `show`, `recipe validate`, `recipe schema`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from legacyrun.cli import render
from legacyrun.cli.options import JsonOpt, RecipeArg, options
from legacyrun.errors import RecipeError

recipe_app = typer.Typer(help="Work with recipe files: validate, schema.", no_args_is_help=True, rich_markup_mode=None)


def register(app: typer.Typer) -> None:
    app.command("list")(list_cmd)
    app.command("show")(show_cmd)
    app.add_typer(recipe_app, name="recipe")


def list_cmd(ctx: typer.Context, json: JsonOpt = False) -> None:
    """List the recipes legacyrun knows (built-in and LEGACYRUN_RECIPE_PATH)."""
    from legacyrun.share.registry import available

    opts = options(ctx, json=json)
    refs = available()
    if opts.json:
        render.emit_json([{"name": r.name, "path": str(r.path), "origin": r.origin} for r in refs])
        return
    rows = []
    for ref in refs:
        rows.append([ref.name, _title(ref.path), ref.origin])
    render.show(render.table(None, ["recipe", "title", "from"], rows))


def _title(path: Path) -> str:
    """Title without a full validation (list must work even with one broken recipe around)."""
    from legacyrun.recipe.loader import load_path

    try:
        return load_path(path).recipe.title
    except RecipeError:
        return "(invalid: run `legacyrun recipe validate`)"


def show_cmd(ctx: typer.Context, recipe: RecipeArg, json: JsonOpt = False) -> None:
    """Show a recipe: sources and commits, pins per profile, datasets, patches, tasks."""
    from legacyrun.recipe.summary import human_size, summarize
    from legacyrun.share.registry import load

    opts = options(ctx, json=json)
    data = summarize(load(recipe))
    if opts.json:
        render.emit_json(data)
        return
    render.markup(f"[bold]{data['name']}[/bold]: {data['title']}")
    for key in ("homepage", "paper", "license"):
        if data[key]:
            render.line(f"  {key}: {data[key]}")
    render.line(f"  recipe: {data['path']} ({data['origin']}), hash {data['recipe_hash'][:12]}")
    render.show(
        render.table(
            "sources", ["name", "url", "commit"], [[s["name"], s["url"], s["commit"]] for s in data["sources"]]
        )
    )
    rows = []
    for name, p in data["profiles"].items():
        rows.append(
            [
                name,
                p["python"],
                p["torch"],
                p["torchvision"] or "-",
                p["cuda"] or "-",
                p["cudnn"] or "-",
                p["gcc"] or "-",
            ]
        )
    render.show(render.table("profiles", ["profile", "python", "torch", "torchvision", "cuda", "cudnn", "gcc"], rows))
    if data["datasets"]:
        render.show(
            render.table(
                "downloads",
                ["name", "kind", "role", "size", "dest"],
                [[d["name"], d["kind"], d["role"], human_size(d["size"]), d["dest"]] for d in data["datasets"]],
            )
        )
    if data["patches"]:
        render.show(
            render.table(
                "patches",
                ["id", "kind", "source", "when"],
                [
                    [p["id"], p["kind"], p["source"], " ".join(f"{k}={v}" for k, v in p["when"].items()) or "always"]
                    for p in data["patches"]
                ],
            )
        )
    if data["adapt"]:
        adapt = data["adapt"]
        render.show(
            render.table(
                f"adapt (written for {adapt['reference_gpus']} GPUs)",
                ["key", "format", "rule", "reference", "where"],
                [
                    [
                        k["key"],
                        k["format"],
                        k["rule"],
                        "-" if k.get("reference") is None else str(k["reference"]),
                        ", ".join(k.get("files") or k.get("tasks") or []),
                    ]
                    for k in adapt["keys"]
                ],
            )
        )
    if data["tasks"]:
        render.show(
            render.table(
                "tasks",
                ["task", "source", "command"],
                [
                    [name, t["source"] + ("/" + t["cwd"] if t["cwd"] != "." else ""), " ".join(t["argv"])]
                    for name, t in data["tasks"].items()
                ],
            )
        )


@recipe_app.command("validate")
def validate_cmd(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Recipe files to check.", show_default=False)],
    json: JsonOpt = False,
) -> None:
    """Validate recipe files; print one line per problem (FILE:LINE:COL: field: message), and warnings (a build
    step's `pip install` without --no-deps) that do not fail it."""
    from legacyrun.recipe.lint import recipe_warnings
    from legacyrun.recipe.loader import load_path

    opts = options(ctx, json=json)
    problems: list[str] = []
    results: list[dict[str, object]] = []
    warnings: list[str] = []
    for path in paths:
        try:
            loaded = load_path(path)
            found = recipe_warnings(loaded)
            warnings.extend(found)
            results.append(
                {"path": str(path), "ok": True, "name": loaded.recipe.name, "problems": [], "warnings": found}
            )
        except RecipeError as exc:
            problems.extend(exc.problems)
            results.append({"path": str(path), "ok": False, "problems": exc.problems, "warnings": []})
    if not opts.json:
        for line in warnings:
            render.note(line)
    if opts.json:
        render.emit_json(results)
        if problems:
            raise typer.Exit(RecipeError.exit_code)
        return
    if problems:
        raise RecipeError(problems)
    for r in results:
        render.line(f"{r['path']}: ok ({r['name']})")


@recipe_app.command("schema")
def schema_cmd(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Print the recipe JSON Schema (for editors)."""
    from legacyrun.fsutil import atomic_write_text
    from legacyrun.recipe.schema import schema_text

    text = schema_text()
    if output is None:
        render.out().file.write(text)
    else:
        atomic_write_text(output, text)
