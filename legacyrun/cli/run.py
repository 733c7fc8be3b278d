"""Commands: run, up, status."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from legacyrun.cli import render
from legacyrun.cli.context import JsonOpt, RecipeArg, WorkspaceOpt, options
from legacyrun.cli.resolve import CpuOpt, DriverOpt, GpuOpt, PinOpt, ProfileOpt, host_for, pins_for
from legacyrun.cli.share import TrustOpt
from legacyrun.errors import Interrupted, LegacyrunError, RunError
from legacyrun.invocation import command

GpusOpt = Annotated[
    str | None, typer.Option("--gpus", help="GPU count (1) or device ids (0,2); default: every visible GPU.")
]
BackendOpt = Annotated[str | None, typer.Option("--backend", "-b", help="docker, conda or venv (default: auto).")]
MirrorOpt = Annotated[list[str] | None, typer.Option("--mirror", help="URL prefix rewrite FROM=TO.")]
SmokeOpt = Annotated[
    bool,
    typer.Option("--smoke", help="Generated data and the task's smoke arguments: prove the environment in minutes."),
]
ExtraArgs = Annotated[list[str] | None, typer.Argument(help="Extra arguments after -- go to the task.")]


def register(app: typer.Typer) -> None:
    settings = {"allow_extra_args": True, "ignore_unknown_options": False}
    app.command("run", context_settings=settings)(run_cmd)
    app.command("up", context_settings=settings)(up_cmd)
    app.command("status")(status_cmd)


def _print_line(line: str) -> None:
    render.out().print(line, markup=False, highlight=False)


def _explanations(matches: list[Any], log: Any) -> None:
    if matches:
        from legacyrun.cli.explain import show_matches

        show_matches(matches, log=str(log))


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
    from legacyrun.run.service import RunRequest, run_command
    from legacyrun.share.registry import load

    opts = options(ctx, json=json, workspace=workspace)
    loaded = load(recipe)
    _require_trust(loaded, trust)
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
    outcome = run_command(req, on_line=None if opts.json else _print_line)
    if opts.json:
        render.emit_json(
            {
                "run_id": outcome.run_id,
                "exit_code": outcome.exit_code,
                "log": str(outcome.log_path),
                "provenance": str(outcome.provenance_path),
                "seconds": round(outcome.seconds, 3),
            }
        )
    else:
        render.note(f"run {outcome.run_id}: exit {outcome.exit_code}; log {outcome.log_path}")
        _explanations(outcome.explanations, outcome.log_path)
    raise typer.Exit(outcome.exit_code)


def _require_trust(loaded: Any, trust: bool) -> None:
    from legacyrun.cli.share import require_trust

    require_trust(loaded, trust=trust)  # tasks, build steps and dataset post steps run the recipe's commands


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
    from legacyrun.run.up import UpRequest
    from legacyrun.share.registry import load

    opts = options(ctx, json=json, workspace=workspace)
    scaffolded = _scaffold_for_up(recipe, opts, list(mirror or []))
    loaded = load(str(scaffolded[0]) if scaffolded else recipe)
    _require_trust(loaded, trust)
    ws = opts.workspace_for(loaded.recipe.name)
    _seed_bundle_lock(recipe, ws)
    req = UpRequest(
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
    started = time.monotonic()
    fixes: list[str] = []
    while True:
        try:
            result = _up_once(req, opts)
        except LegacyrunError as exc:
            if scaffolded is None or isinstance(exc, Interrupted):
                raise
            if smoke and _fixed(scaffolded, req, exc, None, fixes):
                req = _reloaded(req, scaffolded[0])
                continue
            from legacyrun.infer.up import failure_log, stop_with_todos

            log = failure_log(req.ws, exc, None)
            source = loaded.recipe.sources[0].name
            raise stop_with_todos(scaffolded[0], scaffolded[1], source, exc, fixes, log) from exc
        if scaffolded is not None and result.exit_code != 0:
            if smoke and _fixed(scaffolded, req, None, result, fixes):
                req = _reloaded(req, scaffolded[0])
                continue
            from legacyrun.infer.up import failure_log, stop_with_todos

            cause = RunError(f"the task exited with {result.exit_code}")
            if result.run is not None:
                cause = RunError(f"the task exited with {result.run.exit_code}; log {result.run.log_path}")
            log = failure_log(req.ws, None, result)
            raise stop_with_todos(scaffolded[0], scaffolded[1], loaded.recipe.sources[0].name, cause, fixes, log)
        break
    if opts.json:
        render.emit_json(
            {
                "task": result.task,
                "backend": result.backend,
                "profile": result.resolution.profile if result.resolution else None,
                "steps": [
                    {"step": s.name, "status": s.status, "seconds": round(s.seconds, 3), "detail": s.detail}
                    for s in result.steps
                ],
                "adaptation": result.adaptation,
                "run": None
                if result.run is None
                else {
                    "run_id": result.run.run_id,
                    "exit_code": result.run.exit_code,
                    "provenance": str(result.run.provenance_path),
                },
                "seconds": round(time.monotonic() - started, 3),
                **({"fixes": fixes} if scaffolded is not None else {}),
            }
        )
        raise typer.Exit(result.exit_code)
    _show_adaptation(result.adaptation)
    if result.run is not None:
        render.note(f"run {result.run.run_id}: exit {result.run.exit_code}; log {result.run.log_path}")
        _explanations(result.run.explanations, result.run.log_path)
    raise typer.Exit(result.exit_code)


def _show_adaptation(rows: list[dict[str, str]]) -> None:
    """The values `up` changed for the selected GPUs, each with its reason (as provenance records them)."""
    changed = [r for r in rows if r["old"] != r["new"]]
    if changed:
        cells = [[r["key"], r["where"], r["old"], r["new"], r.get("why") or r["rule"]] for r in changed]
        render.err().print(render.table("adapted for the selected GPUs", ["key", "where", "old", "new", "why"], cells))


def _up_once(req: Any, opts: Any) -> Any:
    from legacyrun.run.up import up

    if opts.json:
        return up(req)
    from legacyrun.cli.fetch import RichProgress

    with RichProgress() as bars:
        return up(
            req,
            on_start=lambda name: render.note(f"{name} ..."),
            on_step=lambda o: render.err().print(
                f"[bold]{o.name:<11}[/bold] {o.status:<8} {o.seconds:6.2f}s  {o.detail}", highlight=False
            ),
            on_line=_print_line,
            progress=bars,
        )


def _fixed(scaffolded: tuple[Any, Any], req: Any, exc: Any, result: Any, fixes: list[str]) -> bool:
    """`up URL --smoke`: a known fix for the failure was applied to recipe.yaml (said on stderr)."""
    from legacyrun.infer.up import try_known_fix

    desc = try_known_fix(scaffolded[0], req.ws, req.loaded.recipe.sources[0].name, exc, result, fixes)
    if desc is not None:
        render.note(f"known fix {len(fixes)}: {desc}; running the chain again")
    return desc is not None


def _reloaded(req: Any, path: Any) -> Any:
    import dataclasses

    from legacyrun.share.registry import load

    return dataclasses.replace(req, loaded=load(str(path)))


def _scaffold_for_up(ref: str, opts: Any, mirror_values: list[str]) -> tuple[Any, Any] | None:
    """`up URL` (a git URL or a local repository): the recipe scaffolded into the workspace, or None for a recipe."""
    from legacyrun.infer.up import is_repository_ref, recipe_name, repository_url, scaffold_into

    if not is_repository_ref(ref):
        return None
    from legacyrun.fetch.mirrors import Mirrors

    ws = opts.workspace_for(recipe_name(repository_url(ref)))
    path, result = scaffold_into(ref, ws.root, Mirrors.from_environment(mirror_values))
    if not opts.json:
        done = "kept" if result.reused else "scaffolded"
        render.note(f"{done} {path} from {result.url} at {result.commit[:12]} ({len(result.todos)} TODO items)")
    return path, result


def _seed_bundle_lock(recipe: str, ws: Any) -> None:
    """`up FILE.tar.gz` reproduces the bundle's lock: place it in the workspace before anything resolves."""
    if not recipe.endswith(".tar.gz"):
        return
    from pathlib import Path

    from legacyrun.share.bundle import seed_from_bundle

    seed_from_bundle(ws, Path(recipe))


def status_cmd(ctx: typer.Context, recipe: RecipeArg, json: JsonOpt = False, workspace: WorkspaceOpt = None) -> None:
    """What a workspace holds: lock, sources, datasets, patches, environment, last runs."""
    from legacyrun.run.service import workspace_status
    from legacyrun.share.registry import load

    opts = options(ctx, json=json, workspace=workspace)
    loaded = load(recipe)
    report = workspace_status(loaded, opts.workspace_for(loaded.recipe.name))
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
