"""The options CLI modules share, in one place: the global ones (--workspace, --json, -v/-q), merged with
per-command copies so that both `legacyrun --json show X` and `legacyrun show X --json` work, and the typer
Option definitions several commands take (host flags, --pin, --trust, --gpus, --backend, --mirror, --smoke).

Command modules import their shared options and the helpers that read them (`host_for`, `pins_for`,
`require_trust`) from here, never from each other.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from legacyrun.recipe.loader import LoadedRecipe
    from legacyrun.resolution import HostInfo
    from legacyrun.workspace import Workspace


@dataclass
class Options:
    """What the global callback parsed; commands read it through `options(ctx)`."""

    workspace: Path | None = None
    json: bool = False
    verbose: int = 0
    quiet: bool = False

    def workspace_for(self, recipe_name: str) -> Workspace:
        """The workspace: --workspace, else ./<recipe name>."""
        from legacyrun.workspace import Workspace

        return Workspace.at(self.workspace if self.workspace is not None else Path.cwd() / recipe_name)


def options(ctx: typer.Context, *, json: bool = False, workspace: Path | None = None) -> Options:
    """The global options with this command's own --json/--workspace folded in."""
    root = ctx.find_root()
    opts = root.obj if isinstance(root.obj, Options) else Options()
    if json:
        opts.json = True
    if workspace is not None:
        opts.workspace = workspace
    _record_invocation(ctx, opts)
    from legacyrun.cli import render

    render.set_command(ctx.command_path)
    return opts


def _record_invocation(ctx: typer.Context, opts: Options) -> None:
    """Tell the core what the user typed, so hints repeat it (`legacyrun.invocation.command`).

    Every command calls `options()` first; its parsed `recipe` argument is the reference verbatim (a name or a
    path), and -w is whichever of the global or the command's own was given.
    """
    from legacyrun import invocation

    recipe = ctx.params.get("recipe")
    invocation.set_current(
        invocation.Invocation(
            recipe=recipe if isinstance(recipe, str) else None,
            workspace=None if opts.workspace is None else str(opts.workspace),
        )
    )


JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
WorkspaceOpt = Annotated[
    Path | None, typer.Option("--workspace", "-w", help="Workspace directory (default: ./<recipe name>).")
]
RecipeArg = Annotated[str, typer.Argument(help="Recipe name or path to a recipe YAML file.", show_default=False)]

# The host flags: turned into a HostInfo by `host_for` (legacyrun.host.host_from_flags).
GpuOpt = Annotated[
    str | None,
    typer.Option("--gpu", help="Plan for this GPU instead of probing: a model (H100, 'RTX 3090', 2xA100) or sm_XY."),
]
DriverOpt = Annotated[str | None, typer.Option("--driver", help="Plan for this NVIDIA driver version, e.g. 470.82.01.")]
CpuOpt = Annotated[bool, typer.Option("--cpu", help="Plan a CPU-only environment (no CUDA).")]
ProfileOpt = Annotated[
    str | None, typer.Option("--profile", "-p", help="Use this recipe profile instead of choosing one.")
]
# --pin NAME=VERSION becomes the resolver's `pins` through `pins_for`.
PinOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--pin",
        metavar="NAME=VERSION",
        help="Override a resolved version (torch, torchvision, python, cuda, gcc); repeatable: --pin torch=2.14.1.",
    ),
]

# For fetch/build/run/up: `trust: TrustOpt = False`, then `require_trust(loaded, trust=trust)` before any command.
TrustOpt = Annotated[
    bool, typer.Option("--trust", help="Approve the commands of a recipe from outside the built-in set.")
]

# run and up
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


def host_for(gpu: str | None, driver: str | None, cpu: bool, *, workspace: Path | None = None) -> HostInfo:
    """HostInfo from the host flags' values (thin alias of legacyrun.host.host_from_flags)."""
    from legacyrun.host import host_from_flags

    return host_from_flags(gpu, driver, cpu, workspace=workspace)


def pins_for(values: list[str] | None) -> dict[str, str]:
    """{'torch': '2.14.1'} from --pin values (UsageError naming --pin on bad input)."""
    from legacyrun.resolve.pins import parse_pins

    return parse_pins(values or [])


def confirm_commands(commands: list[str]) -> bool:
    """Show the commands a recipe will run (on stderr, stdout stays clean) and ask yes/no on the terminal."""
    from legacyrun.cli import render

    render.err().print("This recipe is not from legacyrun's built-in set. It will run:", markup=False)
    for line in commands:
        render.err().print(f"  {line}", markup=False)
    return typer.confirm("Run these commands?", default=False, err=True)


def require_trust(loaded: LoadedRecipe, *, trust: bool) -> None:
    """The hook for commands that run a recipe's commands: --trust, else ask on a terminal, else TrustError."""
    from legacyrun.share.trust import ensure_trusted

    interactive = sys.stdin.isatty() and sys.stderr.isatty()
    ensure_trusted(loaded, trust_flag=trust, interactive=interactive, confirm=confirm_commands)


__all__ = [
    "BackendOpt",
    "CpuOpt",
    "DriverOpt",
    "ExtraArgs",
    "GpuOpt",
    "GpusOpt",
    "JsonOpt",
    "MirrorOpt",
    "Options",
    "PinOpt",
    "ProfileOpt",
    "RecipeArg",
    "SmokeOpt",
    "TrustOpt",
    "WorkspaceOpt",
    "confirm_commands",
    "host_for",
    "options",
    "pins_for",
    "require_trust",
]
