"""Commands: run up status."""

from __future__ import annotations

import typer

from legacyrun.cli._stub import not_yet


def register(app: typer.Typer) -> None:
    app.command("run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(_run)
    app.command("up", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(_up)
    app.command("status", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(_status)


def _run() -> None:
    """Not available yet."""
    not_yet("run")


def _up() -> None:
    """Not available yet."""
    not_yet("up")


def _status() -> None:
    """Not available yet."""
    not_yet("status")
