"""The command line the user typed, as far as hints need it, and the one formatter of `legacyrun ...` commands.

A hint such as "run `legacyrun fetch mask2former` first" is only right when it repeats how the user named the
recipe (`./my/recipe.yaml`) and the workspace (`-w /tmp/ws`): the plain name finds another recipe or none, and
without `-w` the command works on `./<name>` instead. So every hint that names a legacyrun command is formatted by
`command()`, which fills in both from the current `Invocation`.

The CLI records the invocation once per command (`legacyrun.cli.options.options`); the core only reads it, and
never imports the CLI. Called from Python without the CLI, the hints name the recipe the caller passes (or
`RECIPE`) and no workspace.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

# The commands that take -w/--workspace: only these get `-w DIR` in a hint (a test checks this set against the
# typer app, so a new command cannot be left out silently).
WORKSPACE_COMMANDS = frozenset({"build", "fetch", "lock", "patch", "recipe export", "run", "scan", "status", "up"})

_PLACEHOLDER = re.compile(r"\blegacyrun ((?:[a-z]+ )+?)RECIPE\b")


@dataclass(frozen=True)
class Invocation:
    """What the user typed: the recipe argument (a name or a path, verbatim) and -w/--workspace if given."""

    recipe: str | None = None
    workspace: str | None = None


_current = Invocation()


def set_current(invocation: Invocation) -> None:
    """Record the invocation (the CLI does, once per command)."""
    global _current  # one command per process; `legacyrun.cli.main` resets it for in-process runs
    _current = invocation


def current() -> Invocation:
    return _current


def command(verb: str, recipe: str | None = None, *args: str) -> str:
    """`legacyrun VERB RECIPE [-w DIR] ARGS...` as the user should type it now.

    `verb` may be several words (`recipe trust`). The recipe is the one the user typed; `recipe` (usually the
    loaded recipe's name) only stands in when there is no typed one, and `RECIPE` when there is neither. `-w DIR`
    is added when the user gave one and VERB takes it. `args` are single arguments, quoted for a shell as needed.
    """
    ref = _current.recipe or recipe or "RECIPE"
    parts = ["legacyrun", *verb.split(), ref if ref == "RECIPE" else shlex.quote(ref)]
    if _current.workspace and verb in WORKSPACE_COMMANDS:
        parts += ["-w", shlex.quote(_current.workspace)]
    parts += [shlex.quote(a) for a in args]
    return " ".join(parts)


def fill(text: str, recipe: str | None = None) -> str:
    """Replace `legacyrun VERB RECIPE` placeholders in fixed text (explain's fixes) with `command(VERB, recipe)`.

    Nothing changes when neither a typed recipe nor `recipe` is known: the placeholder is the honest answer.
    """
    if not (_current.recipe or recipe):
        return text
    return _PLACEHOLDER.sub(lambda m: command(m.group(1).strip(), recipe), text)


__all__ = ["WORKSPACE_COMMANDS", "Invocation", "command", "current", "fill", "set_current"]
