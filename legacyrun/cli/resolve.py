"""Commands: doctor, resolve, lock.

The host flags (--gpu/--driver/--cpu) are declared here once (`GpuOpt`, `DriverOpt`, `CpuOpt`, `ProfileOpt`) and
turned into a HostInfo by `legacyrun.host.host_from_flags`; build/run/up reuse both. `PinOpt` (--pin NAME=VERSION)
becomes the resolver's `pins` through `pins_for`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from legacyrun.cli import render
from legacyrun.cli.context import JsonOpt, RecipeArg, WorkspaceOpt, options

if TYPE_CHECKING:
    from legacyrun.resolution import HostInfo, Resolution

GpuOpt = Annotated[
    str | None,
    typer.Option("--gpu", help="Plan for this GPU instead of probing: a model (H100, 'RTX 3090', 2xA100) or sm_XY."),
]
DriverOpt = Annotated[str | None, typer.Option("--driver", help="Plan for this NVIDIA driver version, e.g. 470.82.01.")]
CpuOpt = Annotated[bool, typer.Option("--cpu", help="Plan a CPU-only environment (no CUDA).")]
ProfileOpt = Annotated[
    str | None, typer.Option("--profile", "-p", help="Use this recipe profile instead of choosing one.")
]
PinOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--pin",
        metavar="NAME=VERSION",
        help="Override a resolved version (torch, torchvision, python, cuda, gcc); repeatable: --pin torch=2.14.1.",
    ),
]
CheckOpt = Annotated[bool, typer.Option("--check", help="Only verify the lock is current; exit 8 when it is not.")]


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor_cmd)
    app.command("resolve")(resolve_cmd)
    app.command("lock")(lock_cmd)


def host_for(gpu: str | None, driver: str | None, cpu: bool, *, workspace: Any = None) -> HostInfo:
    """HostInfo from the CLI flag values (thin alias of legacyrun.host.host_from_flags)."""
    from legacyrun.host import host_from_flags

    return host_from_flags(gpu, driver, cpu, workspace=workspace)


def pins_for(values: list[str] | None) -> dict[str, str]:
    """{'torch': '2.14.1'} from --pin values (UsageError naming --pin on bad input)."""
    from legacyrun.resolve.pins import parse_pins

    return parse_pins(values or [])


def resolution_json(res: Resolution) -> dict[str, Any]:
    data = res.model_dump(mode="json")
    data["gpu_count"] = res.gpu_count
    return data


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
    from legacyrun.resolve.engine import resolve
    from legacyrun.share.registry import load

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
        render.emit_json(resolution_json(res))
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
    from legacyrun.resolve.engine import resolve
    from legacyrun.resolve.locking import check_lock, write_lock
    from legacyrun.share.registry import load

    opts = options(ctx, json=json, workspace=workspace)
    pins = pins_for(pin)
    loaded = load(recipe)
    ws = opts.workspace_for(loaded.recipe.name)
    if check:
        flags = gpu is not None or driver is not None or cpu
        host = host_for(gpu, driver, cpu, workspace=ws.root) if flags else None
        checked = check_lock(loaded, ws, host=host, pins=pins if pin else None)
        if opts.json:
            render.emit_json({"path": str(checked.path), "current": True, "profile": checked.lock.resolution.profile})
        else:
            render.line(f"{checked.path}: current (profile {checked.lock.resolution.profile})")
        return
    res = resolve(loaded, host_for(gpu, driver, cpu, workspace=ws.root), profile=profile, pins=pins)
    result = write_lock(loaded, res, ws)
    if opts.json:
        render.emit_json(
            {
                "path": str(result.path),
                "changed": result.changed,
                "kept": result.kept,
                "dropped": result.dropped,
                "resolution": resolution_json(result.lock.resolution),
            }
        )
        return
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
    from legacyrun.resolve.doctor import diagnose

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


__all__ = [
    "CpuOpt",
    "DriverOpt",
    "GpuOpt",
    "PinOpt",
    "ProfileOpt",
    "host_for",
    "pins_for",
    "register",
    "resolution_json",
]
