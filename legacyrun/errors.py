"""One exception root for every failure a user can meet, each with its documented exit code and
stable string code (the `error.code` of `--json` output).

The CLI's single catch site (`legacyrun.cli.main`) turns these into one line on stderr and the exit code;
the table is written out in docs/exit-codes.md and a test keeps the two in step.
"""

from __future__ import annotations

from typing import ClassVar


class LegacyrunError(Exception):
    """Base of all legacyrun errors: a one-line message, an exit code and a stable string code."""

    exit_code: ClassVar[int] = 1
    title: ClassVar[str] = "error"
    # Stable for programs reading --json output (error.code); documented in docs/exit-codes.md.
    code: ClassVar[str] = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def lines(self) -> list[str]:
        """The lines the CLI prints for this error (the message, then an optional hint)."""
        out = [self.message]
        if self.hint:
            out.append(f"hint: {self.hint}")
        return out


class UsageError(LegacyrunError):
    """Bad command-line input: unknown recipe, conflicting options."""

    exit_code = 2
    title = "usage error"
    code = "usage_error"


class RecipeError(LegacyrunError):
    """A recipe that does not parse or validate; carries one line per problem."""

    exit_code = 2
    title = "invalid recipe"
    code = "invalid_recipe"

    def __init__(self, problems: list[str], *, hint: str | None = None) -> None:
        super().__init__("\n".join(problems), hint=hint)
        self.problems = problems

    def lines(self) -> list[str]:
        out = list(self.problems)
        if self.hint:
            out.append(f"hint: {self.hint}")
        return out


class ResolveError(LegacyrunError):
    """No profile of the recipe can run on the (real or assumed) host."""

    exit_code = 3
    title = "cannot resolve"
    code = "cannot_resolve"


class FetchError(LegacyrunError):
    """Code or data could not be fetched or failed verification."""

    exit_code = 4
    title = "fetch failed"
    code = "fetch_failed"


class PatchError(LegacyrunError):
    """A patch did not apply, or applying it would lose the user's edits."""

    exit_code = 5
    title = "patch failed"
    code = "patch_failed"


class BuildError(LegacyrunError):
    """The environment (docker image, conda or venv prefix, native extension) failed to build."""

    exit_code = 6
    title = "build failed"
    code = "build_failed"


class RunError(LegacyrunError):
    """A task could not be started (the task's own failure passes its exit code through instead)."""

    exit_code = 7
    title = "run failed"
    code = "run_failed"


class LockError(LegacyrunError):
    """The lockfile is missing, unreadable, or stale against the recipe."""

    exit_code = 8
    title = "lock"
    code = "lock_error"


class WorkspaceBusyError(LegacyrunError):
    """Another legacyrun process holds the workspace."""

    exit_code = 9
    title = "workspace busy"
    code = "workspace_busy"


class TrustError(LegacyrunError):
    """A recipe from outside the built-in set wants to run commands the user has not approved."""

    exit_code = 10
    title = "not trusted"
    code = "not_trusted"


class ManualStepRequired(LegacyrunError):
    """A dataset must be downloaded by hand; the message carries the instructions."""

    exit_code = 11
    title = "manual step required"
    code = "manual_step_required"


class ToolMissingError(LegacyrunError):
    """An external tool (aria2c, git, a docker daemon, nvcc) is needed and absent."""

    exit_code = 12
    title = "missing tool"
    code = "tool_missing"


class TodosRemain(LegacyrunError):
    """`up URL` scaffolded a recipe and stopped: what is left are decisions a person must make, one FILE:LINE each.

    (12 was already ToolMissingError's when this error came, so it has the next free code.)
    """

    exit_code = 13
    title = "decisions left"
    code = "decisions_left"

    def __init__(self, message: str, items: list[str], *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.items = items

    def lines(self) -> list[str]:
        out = [self.message, *(f"  {item}" for item in self.items)]
        if self.hint:
            out.append(f"hint: {self.hint}")
        return out


class Interrupted(LegacyrunError):
    """The user pressed Ctrl-C; whatever was in progress was left before or after a step."""

    exit_code = 130
    title = "interrupted"
    code = "interrupted"


ALL_ERRORS: tuple[type[LegacyrunError], ...] = (
    LegacyrunError,
    UsageError,
    RecipeError,
    ResolveError,
    FetchError,
    PatchError,
    BuildError,
    RunError,
    LockError,
    WorkspaceBusyError,
    TrustError,
    ManualStepRequired,
    ToolMissingError,
    TodosRemain,
    Interrupted,
)

__all__ = [
    "ALL_ERRORS",
    "BuildError",
    "FetchError",
    "Interrupted",
    "LegacyrunError",
    "LockError",
    "ManualStepRequired",
    "PatchError",
    "RecipeError",
    "ResolveError",
    "RunError",
    "TodosRemain",
    "ToolMissingError",
    "TrustError",
    "UsageError",
    "WorkspaceBusyError",
]
