"""Command: explain."""

from __future__ import annotations

import typer

from legacyrun.cli._stub import not_yet


def register(app: typer.Typer) -> None:
    app.command("explain", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(_explain)


def _explain() -> None:
    """Not available yet."""
    not_yet("explain")
