"""Global options (--workspace, --json, -v/-q) shared by every command, merged with per-command copies so that
both `legacyrun --json show X` and `legacyrun show X --json` work."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
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

__all__ = ["JsonOpt", "Options", "RecipeArg", "WorkspaceOpt", "options"]
