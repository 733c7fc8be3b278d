"""Commands: build."""

from __future__ import annotations

import typer

from legacyrun.cli._stub import not_yet


def register(app: typer.Typer) -> None:
    app.command("build", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(_build)


def _build() -> None:
    """Not available yet."""
    not_yet("build")
