"""Commands: doctor resolve lock."""

from __future__ import annotations

import typer

from legacyrun.cli._stub import not_yet


def register(app: typer.Typer) -> None:
    app.command("doctor", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(_doctor)
    app.command("resolve", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(_resolve)
    app.command("lock", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(_lock)


def _doctor() -> None:
    """Not available yet."""
    not_yet("doctor")


def _resolve() -> None:
    """Not available yet."""
    not_yet("resolve")


def _lock() -> None:
    """Not available yet."""
    not_yet("lock")
