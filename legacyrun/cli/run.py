"""Commands: run, up, status."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from legacyrun.cli import render
from legacyrun.cli.options import (
    BackendOpt,
    CpuOpt,
    DriverOpt,
    ExtraArgs,
    GpuOpt,
    GpusOpt,
    JsonOpt,
    MirrorOpt,
    PinOpt,
    ProfileOpt,
    RecipeArg,
    SmokeOpt,
    TrustOpt,
    WorkspaceOpt,
    host_for,
    options,
    pins_for,
    require_trust,
)
from legacyrun.invocation import command


def register(app: typer.Typer) -> None:
    settings = {"allow_extra_args": True, "ignore_unknown_options": False}
    app.command("run", context_settings=settings)(run_cmd)
    app.command("up", context_settings=settings)(up_cmd)
    app.command("status")(status_cmd)


def _print_line(line: str) -> None:
    render.out().print(line, markup=False, highlight=False)


def run_cmd(
    ctx: typer.Context,
    recipe: RecipeArg,
    task: Annotated[str, typer.Argument(help="Task name (train, test, ...).", show_default=False)],
    extra: ExtraArgs = None,
    gpus: GpusOpt = None,
    backend: BackendOpt = None,
    mirror: MirrorOpt = None,
    smoke: SmokeOpt = False,
    trust: TrustOpt = False,
    json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Run a task of a recipe in its built environment; the task's exit code becomes legacyrun's."""
    from legacyrun.share.registry import load
    from legacyrun.usecases.run import RunRequest, run

    opts = options(ctx, json=json, workspace=workspace)
    loaded = load(recipe)
    require_trust(loaded, trust=trust)  # tasks, build steps and dataset post steps run the recipe's commands
    req = RunRequest(
        loaded=loaded,
        ws=opts.workspace_for(loaded.recipe.name),
        task=task,
        host=host_for(None, None, False),
        gpus=gpus,
        backend=backend,
        mirror_values=list(mirror or []),
        extra_args=list(extra or []),
        smoke=smoke,
    )
    outcome = run(req, on_line=None if opts.json else _print_line)
    if opts.json:
        render.emit_json(outcome.to_json())
    else:
        render.note(f"run {outcome.run_id}: exit {outcome.exit_code}; log {outcome.log_path}")
        render.show_matches(outcome.explanations, log=str(outcome.log_path))
    raise typer.Exit(outcome.exit_code)


def up_cmd(
    ctx: typer.Context,
    recipe: RecipeArg,
    extra: ExtraArgs = None,
    gpus: GpusOpt = None,
    backend: BackendOpt = None,
    task: Annotated[str | None, typer.Option("--task", "-t", help="Task to run (default: the recipe's).")] = None,
    profile: ProfileOpt = None,
    gpu: GpuOpt = None,
    driver: DriverOpt = None,
    cpu: CpuOpt = False,
    pin: PinOpt = None,
    base_image: Annotated[str | None, typer.Option("--base-image", help="Docker base image override.")] = None,
    mirror: MirrorOpt = None,
    smoke: SmokeOpt = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; change nothing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Stash edits in the source trees before patching.")] = False,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for a busy workspace.")] = 0.0,
    trust: TrustOpt = False,
    json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Resolve, lock, fetch, patch, build and run, skipping every step whose inputs did not change."""
    from legacyrun.recipe.refs import is_repository_ref
    from legacyrun.usecases.up import UpRequest, up_ref

    if is_repository_ref(recipe):  # a repository without a recipe: scaffold it (loads the scaffold and explain)
        from legacyrun.usecases.upurl import up_url as up_ref

    opts = options(ctx, json=json, workspace=workspace)

    def request(loaded: Any, ws: Any) -> UpRequest:
        return UpRequest(
            loaded=loaded,
            ws=ws,
            host=host_for(gpu, driver, cpu),
            task=task,
            profile=profile,
            pins=pins_for(pin),
            smoke=smoke,
            backend=backend,
            gpus=gpus,
            base_image=base_image,
            mirror_values=list(mirror or []),
            extra_args=list(extra or []),
            dry_run=dry_run,
            force=force,
            wait=wait,
        )

    def scaffolded(path: Any, result: Any) -> None:
        if not opts.json:
            done = "kept" if result.reused else "scaffolded"
            render.note(f"{done} {path} from {result.url} at {result.commit[:12]} ({len(result.todos)} TODO items)")

    result = up_ref(
        recipe,
        request,
        workspace_for=opts.workspace_for,
        approve=lambda loaded: require_trust(loaded, trust=trust),
        mirror_values=list(mirror or []),
        on_scaffolded=scaffolded,
        on_note=render.note,
        on_start=None if opts.json else (lambda name: render.note(f"{name} ...")),
        on_step=None if opts.json else _show_step,
        on_line=None if opts.json else _print_line,
        progress=None if opts.json else render.RichProgress,
    )
    if opts.json:
        render.emit_json(result.to_json())
        raise typer.Exit(result.exit_code)
    _show_adaptation(result.adaptation)
    if result.run is not None:
        render.note(f"run {result.run.run_id}: exit {result.run.exit_code}; log {result.run.log_path}")
        render.show_matches(result.run.explanations, log=str(result.run.log_path))
    raise typer.Exit(result.exit_code)


def _show_step(o: Any) -> None:
    render.err().print(f"[bold]{o.name:<11}[/bold] {o.status:<8} {o.seconds:6.2f}s  {o.detail}", highlight=False)


def _show_adaptation(rows: list[dict[str, str]]) -> None:
    """The values `up` changed for the selected GPUs, each with its reason (as provenance records them)."""
    changed = [r for r in rows if r["old"] != r["new"]]
    if changed:
        cells = [[r["key"], r["where"], r["old"], r["new"], r.get("why") or r["rule"]] for r in changed]
        render.err().print(render.table("adapted for the selected GPUs", ["key", "where", "old", "new", "why"], cells))


def status_cmd(ctx: typer.Context, recipe: RecipeArg, json: JsonOpt = False, workspace: WorkspaceOpt = None) -> None:
    """What a workspace holds: lock, sources, datasets, patches, environment, last runs."""
    from legacyrun.share.registry import load
    from legacyrun.usecases.status import status

    opts = options(ctx, json=json, workspace=workspace)
    loaded = load(recipe)
    report = status(loaded, opts.workspace_for(loaded.recipe.name))
    if opts.json:
        render.emit_json(report.to_json())
        return
    render.markup(f"[bold]{report.recipe}[/bold] in {report.workspace}" + ("" if report.exists else " (not created)"))
    if report.lock:
        current = "current" if report.lock_current else f"STALE (recipe changed; run `{command('lock', recipe)}`)"
        render.line(
            f"  lock: profile {report.lock['profile']}, torch {report.lock['torch']}, "
            f"cuda {report.lock['cuda'] or 'cpu'} ({current})"
        )
    else:
        render.line("  lock: none")
    render.show(
        render.table(
            "sources",
            ["name", "commit", "fetched"],
            [[s["name"], s["commit"][:12], "yes" if s["fetched"] else "no"] for s in report.sources],
        )
    )
    if report.datasets:
        render.show(
            render.table(
                "datasets",
                ["name", "kind", "present"],
                [[d["name"], d["kind"], "yes" if d["present"] else "no"] for d in report.datasets],
            )
        )
    if report.smoke:
        render.show(
            render.table(
                "smoke data (--smoke)",
                ["generator", "where", "present"],
                [[d["generator"], d["dest"], "yes" if d["present"] else "no"] for d in report.smoke],
            )
        )
    render.line(f"  patches applied: {len(report.patches)}")
    env = report.environment
    render.line(f"  environment: {env['backend'] + ' ' + (env.get('tag') or env['id'][:12]) if env else 'not built'}")
    if report.runs:
        render.show(
            render.table(
                "last runs",
                ["run", "task", "exit", "seconds"],
                [[str(r["run_id"]), str(r["task"]), str(r["exit_code"]), str(r["seconds"])] for r in report.runs],
            )
        )
