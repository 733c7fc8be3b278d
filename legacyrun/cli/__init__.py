"""The typer application and `main()`, the one place where errors become messages and exit codes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from legacyrun import __version__
from legacyrun.cli.options import Options

_SETTINGS: dict[str, Any] = {
    "name": "legacyrun",
    "help": "Make legacy deep-learning research code run again, reproducibly, with one command.",
    "no_args_is_help": True,
    # Plain click help: typer's rich help formatter (rich.markdown, markdown_it) costs ~90 ms per start.
    "rich_markup_mode": None,
    "pretty_exceptions_enable": False,
    "add_completion": False,
    "context_settings": {"help_option_names": ["-h", "--help"]},
}


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"legacyrun {__version__}\n")
        raise typer.Exit(0)


def _global(
    ctx: typer.Context,
    workspace: Annotated[
        Path | None, typer.Option("--workspace", "-w", help="Workspace directory (default: ./<recipe name>).")
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More detail; tracebacks on errors.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors and results.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Make legacy deep-learning research code run again, reproducibly, with one command."""
    import logging  # here, not at the top: `legacyrun --help` never needs it

    ctx.obj = Options(workspace=workspace, json=json, verbose=verbose, quiet=quiet)
    level = logging.DEBUG if verbose >= 2 else logging.INFO if verbose == 1 else logging.WARNING
    logging.basicConfig(level=level, format="%(name)s: %(message)s")


def _full_app() -> typer.Typer:
    """The app with every command (help, groups, tests); made on first use (`legacyrun.cli.app`)."""
    global _APP
    if _APP is None:
        # Each module adds its own commands; imports stay light (heavy libraries load inside the commands).
        from legacyrun.cli import build, explain, fetch, patch, recipes, resolve, run, scan, share, smoke

        full = typer.Typer(**_SETTINGS)
        full.callback()(_global)
        for module in (recipes, resolve, fetch, patch, scan, build, run, explain, smoke):
            module.register(full)
        share.register(full)  # recipe sources, trust, export, scaffold (adds to the `recipe` group)
        _APP = full
    return _APP


_APP: typer.Typer | None = None


def __getattr__(name: str) -> Any:
    if name == "app":
        return _full_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Commands whose module's register() adds only top-level commands. typer converts every registered command into
# click's form on each start (~15 ms for all of them), so main() runs such a command on an app holding just its
# module's commands; anything else (help, groups, a typo) gets the full `app`. tests/run/test_fastpath.py checks
# this table against `app`.
_ALONE = {
    "up": "run",
    "run": "run",
    "status": "run",
    "build": "build",
    "fetch": "fetch",
    "patch": "patch",
    "explain": "explain",
    "scan": "scan",
    "doctor": "resolve",
    "resolve": "resolve",
    "lock": "resolve",
}


def _command_name(args: list[str]) -> str | None:
    """The command typed: the first word that is not a global option or the value of -w/--workspace."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("-w", "--workspace"):
            skip = True
        elif arg == "--":
            return None
        elif not arg.startswith("-"):
            return arg
    return None


def app_for(args: list[str]) -> typer.Typer:
    """The app to run `args` on: one with the typed command's module only when that is enough (see _ALONE)."""
    module = _ALONE.get(_command_name(args) or "")
    if module is None:
        return _full_app()
    import importlib

    alone = typer.Typer(**_SETTINGS)
    alone.callback()(_global)
    importlib.import_module(f"legacyrun.cli.{module}").register(alone)
    return alone


def _verbose_requested(argv: list[str]) -> bool:
    return any(a in ("-v", "-vv", "--verbose") or (a.startswith("-v") and set(a[1:]) == {"v"}) for a in argv)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    from legacyrun import invocation
    from legacyrun.errors import Interrupted, LegacyrunError

    args = sys.argv[1:] if argv is None else argv
    invocation.set_current(invocation.Invocation())  # nothing typed yet (in-process callers run main repeatedly)
    render = sys.modules.get("legacyrun.cli.render")  # not imported here when not loaded yet: `--help` needs none
    if render is not None:
        render.set_command(None)  # the JSON output names this run's command (set by `options()`)
    try:
        # With standalone_mode=False click returns typer.Exit's code instead of raising it.
        rc = app_for(args)(args=args, prog_name="legacyrun", standalone_mode=False)
    except LegacyrunError as exc:
        _fail(exc, args)
    except KeyboardInterrupt:
        _fail(Interrupted("interrupted; nothing half-done was left in place"), args)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        _fail(Interrupted("aborted"), args)
    except Exception as exc:  # the usage errors click raises in standalone_mode=False
        _click_error(exc, args)
    sys.exit(rc if isinstance(rc, int) else 0)


def _click_classes() -> tuple[type[Any], type[Any]]:
    """(ClickException, UsageError) of the click that typer runs on.

    typer >= 0.29 vendors click as `typer._click`, older typers use the `click` package; an `isinstance` check
    against `click.ClickException` misses the vendored classes. `typer.BadParameter` is click's BadParameter in
    both, so its ancestors are the classes this typer actually raises.
    """
    by_name = {cls.__name__: cls for cls in typer.BadParameter.__mro__}
    return by_name["ClickException"], by_name["UsageError"]


def _click_error(exc: Exception, args: list[str]) -> None:
    """A click error becomes a one-line legacyrun error (usage errors exit 2); anything else is a bug: re-raise."""
    from legacyrun.errors import LegacyrunError
    from legacyrun.errors import UsageError as LegacyrunUsageError

    click_exception, usage_error = _click_classes()
    if not isinstance(exc, click_exception):
        raise exc
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
        # `legacyrun` or a command group without its subcommand: the help, on stderr and exit 2 as click does.
        sys.stderr.write(ctx.get_help() + "\n")
        sys.exit(2)
    # click's message may span lines (a "did you mean" list); the error stays one line.
    message = " ".join(exc.format_message().split()).rstrip(".")
    if isinstance(exc, usage_error):
        where = ctx.command_path if ctx is not None else "legacyrun"
        error: LegacyrunError = LegacyrunUsageError(f"{message}; see `{where} --help`")
    else:  # FileError and other click errors that are not about usage: exit 1, as click gives them
        error = LegacyrunError(message)
    _fail(error, args, cause=exc)


def _fail(exc: BaseException, args: list[str], *, cause: BaseException | None = None) -> None:
    from legacyrun.cli import render
    from legacyrun.errors import LegacyrunError

    assert isinstance(exc, LegacyrunError)
    if _verbose_requested(args):
        import traceback

        traceback.print_exception(cause if cause is not None else exc)
    if "--json" in args:
        if render.command_name() is None:  # failed before the command parsed its options (a usage error)
            render.set_command(_command_name(args))
        error = {
            "code": exc.code,
            "exit_code": exc.exit_code,
            "message": exc.message,
            "type": exc.title,
            "messages": exc.lines(),
        }
        render.emit_json({"error": error}, ok=False)
    render.error_lines(exc.title, exc.lines())
    sys.exit(exc.exit_code)


__all__ = ["app", "app_for", "main"]
