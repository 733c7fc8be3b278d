"""Commands: patch scan."""

from __future__ import annotations

import typer

from legacyrun.cli._stub import not_yet


def register(app: typer.Typer) -> None:
    app.command("patch", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(_patch)


def _patch() -> None:
    """Not available yet."""
    not_yet("patch")
