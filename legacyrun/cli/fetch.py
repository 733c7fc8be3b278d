"""Commands: fetch."""

from __future__ import annotations

import typer

from legacyrun.cli._stub import not_yet


def register(app: typer.Typer) -> None:
    app.command("fetch", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(_fetch)


def _fetch() -> None:
    """Not available yet."""
    not_yet("fetch")
