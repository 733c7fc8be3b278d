"""Commands: patch scan."""

from __future__ import annotations

import typer

from legacyrun.cli._stub import not_yet


def register(app: typer.Typer) -> None:
    app.command("patch", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(_patch)
    app.command("scan", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(_scan)


def _patch() -> None:
    """Not available yet."""
    not_yet("patch")


def _scan() -> None:
    """Not available yet."""
    not_yet("scan")
