"""Commands: doctor, resolve, lock (the host flags and --pin are shared options: `legacyrun.cli.options`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from legacyrun.cli import render
from legacyrun.cli.options import (
    CpuOpt,
    DriverOpt,
    GpuOpt,
    JsonOpt,
    PinOpt,
    ProfileOpt,
    RecipeArg,
    WorkspaceOpt,
    host_for,
    options,
    pins_for,
)

if TYPE_CHECKING:
    from legacyrun.resolution import Resolution

CheckOpt = Annotated[bool, typer.Option("--check", help="Only verify the lock is current; exit 8 when it is not.")]


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor_cmd)
    app.command("resolve")(resolve_cmd)
    app.command("lock")(lock_cmd)


def _show_resolution(res: Resolution) -> None:
    render.markup(f"[bold]{res.recipe}[/bold]: profile [bold]{res.profile}[/bold]")
    rows = [
        ["python", res.python],
        ["torch", res.torch],
        ["torchvision", res.torchvision or "-"],
        ["cuda", res.cuda or "- (CPU build)"],
        ["cudnn", res.cudnn or "-"],
        ["gcc", res.gcc or "-"],
        ["base image", res.base_image or "-"],
        ["TORCH_CUDA_ARCH_LIST", res.torch_cuda_arch_list or "-"],
        ["installer", res.installer],
    ]
    if res.pins:
        rows.append(["--pin", " ".join(f"{k}={v}" for k, v in sorted(res.pins.items()))])
    if res.pip_index_url:
        rows.append(["pip index", res.pip_index_url])
    if res.pip_find_links:
        rows.append(["pip find-links", res.pip_find_links])
    if res.pip_specs:
        rows.append(["pip", " ".join(res.pip_specs)])
    if res.conda_channels:
        rows.append(["conda channels", " ".join(res.conda_channels)])
    if res.installer == "conda" or len(res.conda_specs) > 1:
        rows.append(["conda", " ".join(res.conda_specs)])
    render.show(render.table(None, ["pin", "value"], rows))
    render.line("why:")
    for reason in res.reasons:
        render.line(f"  - {reason}")


def resolve_cmd(
    ctx: typer.Context,
    recipe: RecipeArg,
    profile: ProfileOpt = None,
    gpu: GpuOpt = None,
    driver: DriverOpt = None,
    cpu: CpuOpt = False,
    pin: PinOpt = None,
    json: JsonOpt = False,
    source_build: Annotated[
        bool,
        typer.Option(
            "--source-build", help="For a Kepler GPU (sm_3x): print the Dockerfile that builds torch for its arch."
        ),
    ] = False,
) -> None:
    """Resolve a recipe's pins for this machine (or --gpu/--driver/--cpu) and say why."""
    from legacyrun.share.registry import load
    from legacyrun.usecases.lock import resolve

    opts = options(ctx, json=json)
    pins = pins_for(pin)
    loaded = load(recipe)
    host = host_for(gpu, driver, cpu)
    if source_build:
        from legacyrun.resolve.oldgpu import source_build_dockerfile

        typer.echo(source_build_dockerfile(loaded, host), nl=False)
        return
    res = resolve(loaded, host, profile=profile, pins=pins)
    if opts.json:
        render.emit_json(res.to_json())
        return
    _show_resolution(res)


def lock_cmd(
    ctx: typer.Context,
    recipe: RecipeArg,
    check: CheckOpt = False,
    profile: ProfileOpt = None,
    gpu: GpuOpt = None,
    driver: DriverOpt = None,
    cpu: CpuOpt = False,
    pin: PinOpt = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Write <workspace>/legacyrun.lock with the resolved pins (or --check that it is current)."""
    from legacyrun.share.registry import load
    from legacyrun.usecases import lock as locking

    opts = options(ctx, json=json, workspace=workspace)
    pins = pins_for(pin)
    loaded = load(recipe)
    ws = opts.workspace_for(loaded.recipe.name)
    if check:
        flags = gpu is not None or driver is not None or cpu
        host = host_for(gpu, driver, cpu, workspace=ws.root) if flags else None
        checked = locking.check(loaded, ws, host=host, pins=pins if pin else None)
        if opts.json:
            render.emit_json(checked.to_json())
        else:
            render.line(f"{checked.path}: current (profile {checked.lock.resolution.profile})")
        return
    result = locking.lock(loaded, ws, host_for(gpu, driver, cpu, workspace=ws.root), profile=profile, pins=pins)
    if opts.json:
        render.emit_json(result.to_json())
        return
    res = result.lock.resolution
    state = "written" if result.changed else "unchanged"
    render.line(f"{result.path}: {state} (profile {res.profile}, torch {res.torch}, cuda {res.cuda or 'none'})")
    if result.kept:
        render.line(f"  kept: {', '.join(result.kept)}")
    if result.dropped:
        render.line(f"  dropped (stale): {', '.join(result.dropped)}")


def doctor_cmd(
    ctx: typer.Context,
    recipe: Annotated[
        str | None, typer.Argument(help="Recipe name or path (default: every known recipe).", show_default=False)
    ] = None,
    gpu: GpuOpt = None,
    driver: DriverOpt = None,
    cpu: CpuOpt = False,
    json: JsonOpt = False,
) -> None:
    """Report this machine (GPUs, driver, nvcc, gcc, docker, disk) and which profile each recipe would use."""
    from legacyrun.usecases.doctor import diagnose

    opts = options(ctx, json=json)
    report = diagnose(host_for(gpu, driver, cpu), recipe)
    if opts.json:
        render.emit_json(report.as_json())
        return
    for line in report.host_lines():
        render.line(line)
    if report.verdicts:
        render.show(
            render.table(
                "recipes",
                ["recipe", "profile", "torch", "cuda", "why"],
                [[v.recipe, v.profile or "none", v.torch or "-", v.cuda or "-", v.reason] for v in report.verdicts],
            )
        )


__all__ = ["register"]
